"""A read-only view of the kubeconfig as kubectl merges it (which contexts rgpu-exec manages is
`listing.managed_call`'s to say, for every command).

Files: `--kubeconfig` alone, else `KUBECONFIG` split on the path separator (duplicates dropped,
missing files skipped), else `~/.kube/config`. The first file that defines a named context, user
or cluster wins, whole entry. Files are read with YAML safe loading and never written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings
from rgpu_exec.hotpath.request import parse_token_flags
from rgpu_exec.kubeconfig.files import read_nonblocking, select_targets
from rgpu_exec.kubeconfig.yaml_bounds import check_text

if TYPE_CHECKING:
    from collections.abc import Mapping

# Executables that are rgpu-exec: our launcher and the kubectl plugin (`kubectl rgpu token …`).
PLUGIN_NAMES = frozenset({"rgpu-exec", "kubectl-rgpu"})


class KubeconfigFileError(UsageError):
    """A kubeconfig (or kuberc) file that cannot be used: what is wrong, and the fix, apart."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(f"{detail}. {fix[0].upper()}{fix[1:]}.")
        self.detail = detail
        self.fix = fix


class UnreadableFileError(KubeconfigFileError):
    FIX = "fix or remove it (kubectl cannot use it either)"

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"cannot read {path} ({problem})", _with_backup(path, self.FIX))


def _with_backup(path: str, fix: str) -> str:
    backup = f"{path}.rgpu-exec.bak"  # where `rgpu-exec kubeconfig` keeps the previous content
    return f"{fix}; its previous content is in {backup}" if Path(backup).is_file() else fix


@dataclass(frozen=True)
class Entry:
    """A named context or user, with the file that defines it (relative paths start there)."""

    name: str
    file: str
    body: Mapping[str, Any]


@dataclass
class Kubeconfig:
    files: list[str]
    contexts: dict[str, Entry] = field(default_factory=dict)
    users: dict[str, Entry] = field(default_factory=dict)
    clusters: dict[str, Entry] = field(default_factory=dict)
    current_context: str | None = None

    def user_of(self, context: Entry) -> Entry | None:
        name = context.body.get("user")
        return self.users.get(name) if isinstance(name, str) else None

    def cluster_of(self, context: Entry) -> Entry | None:
        name = context.body.get("cluster")
        return self.clusters.get(name) if isinstance(name, str) else None


def kubeconfig_files(flag: str | None, environ: Mapping[str, str]) -> list[str]:
    """The files kubectl reads, in order (the same rules `kubeconfig generate` writes by)."""
    return [str(path) for path in select_targets(flag, environ).paths]


def home(environ: Mapping[str, str]) -> Path:
    return Path(settings.home(environ))


def load_yaml(path: str) -> Any:
    """The file's YAML, safely loaded; None when it does not exist. UsageError when unreadable."""
    from ruamel.yaml import YAML  # noqa: PLC0415
    from ruamel.yaml.error import YAMLError  # noqa: PLC0415

    try:
        text = read_nonblocking(Path(path)).decode("utf-8")  # a FIFO is refused, never waited on
        too_big = check_text(text)
        if too_big:
            raise UnreadableFileError(path, too_big)
        return YAML(typ="safe", pure=True).load(text)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise UnreadableFileError(path, f"{type(exc).__name__}: {_first_line(exc)}") from None


def load(flag: str | None, environ: Mapping[str, str]) -> Kubeconfig:
    config = Kubeconfig(files=[])
    for path in kubeconfig_files(flag, environ):
        document = load_yaml(path)
        if document is None:  # missing, or empty
            if flag and not Path(path).exists():
                raise KubeconfigFileError(
                    f"the kubeconfig {path} (--kubeconfig) does not exist",
                    f"check the path, or write that file: give --kubeconfig {path} to "
                    "`rgpu-exec kubeconfig import` with the console's kubeconfig download",
                )
            continue
        if not isinstance(document, dict):
            raise KubeconfigFileError(
                f"{path} is not a kubeconfig (its top level is a YAML "
                f"{_yaml_kind(document)}, not a mapping)",
                _with_backup(path, "fix or remove it (kubectl cannot use it either)"),
            )
        config.files.append(path)
        if config.current_context is None and document.get("current-context"):
            config.current_context = str(document["current-context"])
        for section, inner, target in (
            ("contexts", "context", config.contexts),
            ("users", "user", config.users),
            ("clusters", "cluster", config.clusters),
        ):
            for item in document.get(section) or []:
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    continue
                body = item.get(inner)
                if item["name"] not in target:  # the first file defining a name wins
                    target[item["name"]] = Entry(
                        item["name"], path, body if isinstance(body, dict) else {}
                    )
    return config


@dataclass(frozen=True)
class PluginCall:
    """What an exec stanza asks of rgpu-exec: `token` and its options.

    `args_valid` is False when the arguments are not a `token` command line that rgpu-exec
    accepts (another subcommand, an unknown, abbreviated or repeated flag); the options are then
    all None.
    """

    command: str
    namespace_id: str | None
    api_url: str | None
    profile: str | None
    namespace_name: str | None = None  # `--namespace`: the name, for messages only
    args_valid: bool = True


def plugin_call(user: Entry) -> PluginCall | None:
    """The rgpu-exec call in this user's exec stanza, or None when it does not run rgpu-exec."""
    exec_ = user.body.get("exec")
    if not isinstance(exec_, dict) or not isinstance(exec_.get("command"), str):
        return None
    command = exec_["command"]
    args = [str(a) for a in exec_.get("args") or []]
    base = Path(command.replace("\\", "/")).name.removesuffix(".exe")
    if base == "kubectl" and args[:1] == ["rgpu"]:
        args = args[1:]
    elif base.startswith("python") and args[:2] == ["-m", "rgpu_exec"]:
        args = args[2:]
    elif base not in PLUGIN_NAMES:
        return None
    return token_call(command, args)


def token_call(command: str, args: list[str]) -> PluginCall:
    """What the exec args `args` (`token --namespace-id …`) ask of rgpu-exec. The same flag
    table and parser as `token` and its cache-hit path: what they refuse, this does not read
    either (`args_valid` False, every option None)."""
    options = parse_token_flags(args[1:]) if args[:1] == ["token"] else None
    found = options or {}
    return PluginCall(
        command,
        found.get("namespace_id"),
        found.get("api_url"),
        found.get("profile"),
        found.get("namespace_name"),
        args_valid=options is not None,
    )


def _yaml_kind(document: Any) -> str:
    if isinstance(document, list):
        return "list"
    return "scalar" if isinstance(document, (str, int, float, bool)) else type(document).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[0].split()) if text else "no detail"
