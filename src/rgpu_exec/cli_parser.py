"""argparse in our voice: errors through the output gate with our exit code, pointing at the
`--help` of the command typed, never showing a value typed (`commands.usage`).

Apart from `cli` so that `cli` itself imports nothing costly: `kubectl_complete-rgpu`, which
kubectl runs at every TAB, imports `cli` and needs no parser (see `cli.kubectl_complete`).
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from rgpu_exec import output
from rgpu_exec.commands import usage
from rgpu_exec.errors import ExitCode

# Where each (sub)command's parser leaves its `prog` in the parsed namespace: the deepest one
# parsed wins (a subcommand's values are copied over its parent's), so a usage error can point at
# the help of the command the user actually typed.
PROG = "_rgpu_exec_prog"


def _options_of(parser: argparse.ArgumentParser, prog: str) -> list[str]:
    """The options of the (sub)command whose `prog` is given, found under `parser`."""
    if parser.prog == prog:
        return [name for action in parser._actions for name in action.option_strings]  # noqa: SLF001
    for action in parser._actions:  # noqa: SLF001 - argparse has no public way
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in action.choices.values():
                found = _options_of(sub, prog)
                if found:
                    return found
    return []


class Parser(argparse.ArgumentParser):
    """argparse, with errors in our own voice and exit code, pointing at the right `--help`.

    Subcommand parsers get their `prog` from argparse (`rgpu-exec cache clear`, or
    `kubectl rgpu cache clear` under kubectl), so an error names the help of the command at fault,
    also for unrecognised arguments (which argparse reports from the top-level parser).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self.set_defaults(**{PROG: self.prog})

    # `-o json` or `-o yaml` on the command line: a usage error gives that document too.
    document_form: str | None = None
    typed: tuple[str, ...] = ()  # the command line, so that an error never shows a value of it
    root: argparse.ArgumentParser | None = None  # its commands, options, choices may be shown

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:
        namespace, extras = self.parse_known_args(*args, **kwargs)
        if extras:
            if self is Parser.root and (moved := usage.misplaced_flags(Parser.typed, self)):
                self._fail(self.prog, moved)  # `-ojson whoami`: argparse left `-ojson` over
            prog = getattr(namespace, PROG, None) or self.prog
            self._fail(prog, usage.unrecognized(extras, _options_of(Parser.root or self, prog)))
        return namespace

    def error(self, message: str) -> NoReturn:
        said = usage.misplaced_flags(Parser.typed, Parser.root) if Parser.root else None
        said = said or usage.unknown_command(message, usage.commands_of(self))
        public = usage.public_words(Parser.root or self)
        if said is None:
            said = usage.without_values(message, Parser.typed, public)
            # An option typed wrong may be why a required one is missing: name it first, and
            # the one meant.
            mine = [name for action in self._actions for name in action.option_strings]
            wrong = usage.mistyped(Parser.typed, public)
            if wrong:
                lead = usage.unrecognized(wrong, mine)
                said = f"{lead}{'' if lead.endswith('?') else '.'} Also: {said}"
        help_of = usage.help_of(Parser.typed, self) if said == usage.NO_HELP_COMMAND else None
        self._fail(help_of or self.prog, said)

    def _print_message(self, message: str, file: Any = None) -> None:
        """Everything argparse writes itself (help, usage, errors, --version) passes the gate."""
        if message:
            output.argparse_message(message, file)

    def _fail(self, prog: str, message: str) -> NoReturn:
        from rgpu_exec import fixes  # noqa: PLC0415 - a usage error only, not every parse

        end = "" if message.endswith("?") else "."
        text = f"rgpu-exec: {message}{end} See {fixes.command(*prog.split(), '--help')}.\n"
        if Parser.document_form:
            from rgpu_exec.commands import render  # noqa: PLC0415 - json, only then

            render.render_failure(Parser.document_form, ExitCode.USAGE, text)
        output.tell(text)
        self.exit(ExitCode.USAGE)
