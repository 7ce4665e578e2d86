"""The command line: parse flags, call one use case, turn its errors into exit codes.

`rgpu-exec` (our own launcher, see `hotpath.cache_hit`) and `kubectl-rgpu` (an ordinary entry
point) both end here. The parser is built from `COMMANDS`, a table of names, help texts and
modules: only the module of the command typed is imported (its `register(subparsers)` adds its
flags), the others are listed by name and help alone, so `--help`, a usage error and a mistyped
command import no use case. No parser accepts abbreviated flags: `--api` is not `--api-url`
(the kubeconfig reader would not know it either).

This module imports nothing costly at its top: `kubectl_complete-rgpu`, which kubectl runs at
every TAB, enters through it (tests/process/test_import_budgets.py holds each path's imports).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from rgpu_exec.cli_parser import Parser
    from rgpu_exec.errors import RgpuExecError

_KUBECTL_PLUGIN = "kubectl-rgpu"
# Every command: its name, its line in `rgpu-exec --help`, and its module in rgpu_exec.commands
# (whose `register` adds the parser, with this same help: a test holds the two equal). In the
# order of the help: what people run first; `token`, which kubectl runs, last. A module that
# registers two commands (login, logout) has them side by side.
COMMANDS = (
    ("kubeconfig", "generate, import, list or remove RemoteGPU namespace contexts in your kubeconfig", "kubeconfig"),  # noqa: E501
    ("login", "store an API key in the OS keyring (or, opted in, a private file) for a profile", "login"),  # noqa: E501
    ("logout", "delete a profile's API key from the OS keyring and the key file", "login"),
    ("whoami", "show which API key would be used now, and from where (never the key itself)", "whoami"),  # noqa: E501
    ("check", "check which namespaces the current API key may use (a scope matrix)", "check"),
    ("doctor", "diagnose why kubectl cannot get RemoteGPU credentials", "doctor"),
    ("cache", "list or clear cached namespace tokens", "cache"),
    ("scope", "work with API-key scope payloads", "scope"),
    ("completion", "print a shell completion script (bash, zsh or fish)", "completion"),
    ("version", "print the version, and what a bug report needs (Python, platform, libraries)", "version"),  # noqa: E501
    ("token", "print an ExecCredential for kubectl (what the kubeconfig exec stanza runs)", "token"),  # noqa: E501
)  # fmt: skip
# `completion` writes a script that describes every command: it needs them all.
_NEEDS_EVERY_COMMAND = frozenset({"completion"})
_DOCUMENT_FORMATS = ("json", "yaml")  # commands.render.DOCUMENT_FORMATS, without importing it
_EXAMPLES = """examples:
  rgpu-exec login --namespace-id 6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f     store your API key
  rgpu-exec kubeconfig import ~/Downloads/remotegpu-team-ml-kubeconfig.yaml --replace
  kubectl --context rgpu-team-ml get pods                               rgpu-exec runs inside
  rgpu-exec whoami                                                      which key, from where
  rgpu-exec doctor --problems-only                                      why kubectl fails
  rgpu-exec check --expect-allowed $TEAM_NS --expect-denied $OTHER_NS   a CI gate on a key

"""


def program_name(argv0: str | None = None) -> str:
    """`kubectl rgpu` when run as the kubectl plugin, else `rgpu-exec`."""
    name = os.path.basename(sys.argv[0] if argv0 is None else argv0)  # noqa: PTH119 - no pathlib
    return "kubectl rgpu" if name.removesuffix(".exe") == _KUBECTL_PLUGIN else "rgpu-exec"


def document_wanted(argv: Sequence[str]) -> str | None:
    """The document form the command line asks for, `json` or `yaml` (`-o json`, `--output
    yaml`, `-ojson`, `--output=yaml`; the last one given, as argparse takes it), read before
    parsing: a usage error must still give its failure document (docs/json-output.md)."""
    args = list(argv)
    wanted = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("-o", "--output"):
            value = args[i + 1] if i + 1 < len(args) else ""
        elif arg.startswith("--output="):
            value = arg.removeprefix("--output=")
        elif arg.startswith("-o"):
            value = arg.removeprefix("-o")
        else:
            continue
        wanted = value if value in _DOCUMENT_FORMATS else None
    return wanted


def command_typed(argv: Sequence[str]) -> str:
    """The command named on the command line, read before parsing, or "" for none known: the top
    level's own options (`-h`, `--version`) take no value, so it is the first other word that
    is a command. (A command's flags typed before it, `--context ml whoami`, are a usage error
    that names the command's own flags: its parser is built whole.)"""
    args = list(argv)
    words = [arg for arg in args if not arg.startswith("-")]
    if "--" in args and args.index("--") < len(args) - 1:  # `--` ends the options
        before = [arg for arg in args[: args.index("--")] if not arg.startswith("-")]
        words = before or [args[args.index("--") + 1]]
    known = {name for name, _, _ in COMMANDS}
    return next((word for word in words if word in known), "")


def version_flag(argv: Sequence[str]) -> Sequence[str]:
    """`--version` with `-o json` or `-o yaml` (and no command) is the `version` command, whose
    document it prints; `--version` alone stays argparse's one line, which loads no command."""
    if "--version" in argv and not command_typed(argv) and document_wanted(argv):
        return ["version", *(arg for arg in argv if arg != "--version")]
    return argv


def build_parser(prog: str | None = None, command: str | None = None) -> Parser:
    """The CLI's parser. `command`: the one command whose module is imported and whose flags
    are added ("" for none: every command is then a name and a help line); None for all."""
    import argparse  # noqa: PLC0415 - not on kubectl_complete's path

    from rgpu_exec import __version__  # noqa: PLC0415
    from rgpu_exec.cli_parser import Parser  # noqa: PLC0415
    from rgpu_exec.errors import EXIT_CODES_HELP  # noqa: PLC0415

    parser = Parser(
        prog=prog or program_name(),
        description="kubectl credential plugin for RemoteGPU Kubernetes namespaces: it writes\n"
        "kubeconfig contexts whose exec stanza runs `rgpu-exec token`, which kubectl then runs\n"
        "before every command. Each command's --help (`rgpu-exec doctor --help`) shows its\n"
        "flags and examples.",
        epilog=_EXAMPLES + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rgpu-exec {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    if command in _NEEDS_EVERY_COMMAND:
        command = None
    wanted = {module for name, _, module in COMMANDS if command is None or name == command}
    registered: set[str] = set()
    for name, text, module_name in COMMANDS:
        if module_name not in wanted:
            subparsers.add_parser(name, help=text)  # listed only: never parsed into
        elif module_name not in registered:
            registered.add(module_name)
            # __import__, not importlib.import_module: `python -X importtime` (the import
            # budgets' measure) sees only the former.
            qualified = f"rgpu_exec.commands.{module_name}"
            __import__(qualified)
            module = sys.modules[qualified]
            if module_name == "completion":
                module.register(subparsers, root=parser)
            else:
                module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from rgpu_exec import output  # noqa: PLC0415
    from rgpu_exec.cli_parser import Parser  # noqa: PLC0415
    from rgpu_exec.errors import ExitCode, RgpuExecError  # noqa: PLC0415
    from rgpu_exec.hotpath import settings  # noqa: PLC0415

    output.know(settings.api_key(os.environ))
    if settings.log_level(os.environ):  # logging loads only when asked for
        from rgpu_exec.credentials import log  # noqa: PLC0415

        warning = log.configure(os.environ)
        if warning:  # the cache-hit path gives the same warning and goes on too
            output.tell(warning)
    argv = version_flag(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command=command_typed(argv))
    Parser.document_form = document_wanted(argv)
    Parser.typed, Parser.root = tuple(argv), parser
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        from rgpu_exec.commands import usage  # noqa: PLC0415

        return usage.name_a_command(parser)
    form = getattr(args, "output", None)
    try:
        return int(args.func(args))
    except RgpuExecError as failure:
        exc = _with_rerun(failure, argv)
        if not exc.json_document_printed:
            _failure_document(form, exc.exit_code, str(exc))
        output.say(str(exc))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _failure_document(form, ExitCode.INTERRUPTED, "rgpu-exec: interrupted.")
        output.say("rgpu-exec: interrupted.")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # the reader of the output went away: nothing to tell it
        from rgpu_exec.hotpath.exec_credential import output_gone  # noqa: PLC0415

        return ExitCode(output_gone())
    except Exception as exc:
        if settings.debug(os.environ):
            raise
        from rgpu_exec import terminal  # noqa: PLC0415

        detail = terminal.shown(f"{type(exc).__name__}: {exc}")  # on one line
        message = (
            f"rgpu-exec: unexpected error ({detail}). This is a bug: please report it with the "
            f"output of the same command run with {settings.ENV_LOG}=debug."
        )
        _failure_document(form, ExitCode.UNEXPECTED, message)
        output.say(message)
        return ExitCode.UNEXPECTED


def _with_rerun(exc: RgpuExecError, argv: Sequence[str]) -> RgpuExecError:
    """An error that a setting fixes (`RgpuExecError.rerun_with`), with the command that runs
    this one again under it: `export NAME=value && rgpu-exec ARGV…`, each part shell-quoted
    (`fixes.sequence`). Not for `token` (kubectl runs it),
    nor when a part would not show as it is (`terminal.printable`)."""
    from rgpu_exec import fixes, terminal  # noqa: PLC0415 - only for a failure
    from rgpu_exec.hotpath import request, settings  # noqa: PLC0415

    if exc.rerun_with is None or not argv or argv[0] == "token":
        return exc
    variable, value = exc.rerun_with
    if not all(terminal.printable(part) for part in (*argv, value)):
        return exc
    rerun = fixes.sequence(["export", f"{variable}={value}"], ["rgpu-exec", *argv])
    if variable == settings.ENV_API_URL:  # the export alone, said for `token`: the rerun says it
        exc.message = exc.message.replace(f" {request.setting_the_api_url(value, flag=False)}", "")
    exc.message = f"{exc.message} fix: {rerun}"
    return exc


def _failure_document(form: object, exit_code: int, message: str) -> None:
    """The failure document of a command run with `-o json` or `-o yaml` that failed before it
    printed its own (one document per run, docs/json-output.md)."""
    if form in _DOCUMENT_FORMATS:
        from rgpu_exec.commands import render  # noqa: PLC0415

        render.render_failure(str(form), exit_code, message)


def kubectl_complete(argv: Sequence[str] | None = None) -> int:
    """The `kubectl_complete-rgpu` executable: kubectl runs it for `kubectl rgpu … <TAB>`. It
    reads the commands from `completion.table` (generated from the parser, and held equal to it
    by a test), so it builds no parser and imports no command module but `commands.complete`."""
    from rgpu_exec.commands import complete  # noqa: PLC0415

    words = sys.argv[1:] if argv is None else list(argv)
    return complete.kubectl_complete(words)


if __name__ == "__main__":
    sys.exit(main())
