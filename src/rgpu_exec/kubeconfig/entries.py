"""The cluster, user and context `generate` (and `import`) write for one namespace.

The user runs `rgpu-exec token --namespace-id ID`, with `--api-url` / `--profile` only when
they differ from the built-in defaults (a value taken from the environment at generate time
is written out, so the kubeconfig keeps working in a shell without it).

The exec command defaults to the launcher the user ran, by the path that survives a reinstall
(`kubeconfig.launcher`: pipx's link on PATH, not the file in its virtual environment; on Windows
the `kubectl-rgpu.exe` entry point). `--exec-command rgpu-exec` writes a bare name looked up on
PATH: portable across machines, but it depends on the PATH of whatever runs kubectl.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rgpu_exec import output
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings, url_rules
from rgpu_exec.hotpath.exec_credential import V1, V1BETA1
from rgpu_exec.kubeconfig import launcher
from rgpu_exec.kubeconfig import view as kubeconfig_view
from rgpu_exec.kubeconfig.merge import Entry

ExecApiVersion = Literal["v1", "v1beta1"]
InteractiveMode = Literal["Never", "IfAvailable"]
EXEC_API_VERSIONS: dict[str, str] = {"v1": V1, "v1beta1": V1BETA1}
INTERACTIVE_MODES = ("Never", "IfAvailable")
CONTEXT_PREFIX = "rgpu-"
CA_KEYS = ("certificate-authority-data", "certificate-authority", "insecure-skip-tls-verify")
_OUR_ARGS = ["token", "--namespace-id"]
_PEM_MARKER = b"-----BEGIN CERTIFICATE-----"


# What of a Spec is written into the kubeconfig, by the flag that gives it.
_WRITTEN_FLAGS = {
    "context": "--context",
    "namespace": "--namespace",
    "namespace_id": "--namespace-id",
    "server": "--server",
    "api_url": "--api-url",
    "profile": "--profile",
    "exec_command": "--exec-command",
}


@dataclass(frozen=True)
class Spec:
    """Everything one namespace's entries depend on, validated."""

    namespace: str
    namespace_id: str
    server: str
    ca_data: str | None
    context: str
    api_url: str
    profile: str
    exec_command: str
    exec_api_version: ExecApiVersion = "v1"
    interactive_mode: InteractiveMode = "IfAvailable"

    def __post_init__(self) -> None:
        """No value written into a kubeconfig holds an API key: a key pasted as `--context` (or
        any flag whose value is written) would sit in the file in plain text."""
        for field, flag in _WRITTEN_FLAGS.items():
            if output.holds_secret(str(getattr(self, field))):
                raise UsageError(
                    f"the value of {flag} looks like an API key (not shown), and it would be "
                    "written into the kubeconfig in plain text; nothing was written. Give the "
                    f"key through {settings.ENV_API_KEY} or `rgpu-exec login`, and {flag} its "
                    "own value."
                )

    def entries(self) -> list[Entry]:
        """With a CA, the cluster holds it as data (a CA file path and insecure-skip-tls-verify
        go); without one, an existing cluster keeps whatever CA settings it has."""
        cluster: dict[str, object] = {"server": self.server}
        keep: tuple[str, ...] = ()
        if self.ca_data:
            cluster["certificate-authority-data"] = self.ca_data
        else:
            keep = CA_KEYS
        return [
            Entry("cluster", self.context, cluster, keep),
            Entry("user", self.context, {"exec": self.exec_stanza()}),
            Entry(
                "context",
                self.context,
                {"cluster": self.context, "user": self.context, "namespace": self.namespace},
            ),
        ]

    @property
    def profile_flag(self) -> str | None:
        """The `--profile` the exec args pass to `token` (only a profile other than the
        default is written), which makes that profile's key win over `REMOTEGPU_API_KEY`."""
        return self.profile if self.profile != settings.DEFAULT_PROFILE else None

    def exec_stanza(self) -> dict[str, object]:
        # The name is for messages only (`token` cannot know it otherwise); the ID decides.
        args = ["token", "--namespace-id", self.namespace_id, "--namespace", self.namespace]
        if self.api_url != settings.DEFAULT_API_URL:
            args += ["--api-url", self.api_url]
        if self.profile_flag:
            args += ["--profile", self.profile_flag]
        return {
            "apiVersion": EXEC_API_VERSIONS[self.exec_api_version],
            "command": self.exec_command,
            "args": args,
            "interactiveMode": self.interactive_mode,
            # kubectl then hands the cluster to `token` (spec.cluster), which asks the cluster
            # whether it still accepts a token before replacing it on a second ask.
            "provideClusterInfo": True,
            "installHint": install_hint(self.namespace),
        }


# How the installHint `generate` writes begins: the marker of a stanza it wrote, whatever the
# exec command's name (`--exec-command`).
INSTALL_HINT_START = "rgpu-exec provides the credentials for the RemoteGPU namespace "


def install_hint(namespace: str) -> str:
    return (
        f"{INSTALL_HINT_START}{namespace}. Install it "
        "from a checkout of its repository (pipx install ./rgpu-exec; see its README), then run "
        "`rgpu-exec kubeconfig import` (or generate) again so this kubeconfig points at it."
    )


def foreign_exec(user: object) -> str | None:
    """Why a kubeconfig user (the body under `user:`) is not one rgpu-exec writes, or None when
    it is: its exec stanza runs rgpu-exec (as `check` and `doctor` recognise it: any path,
    `kubectl-rgpu`, `kubectl rgpu`, `python -m rgpu_exec`), or passes `token --namespace-id` and
    carries the installHint `generate` writes (with an --exec-command of another name). Args
    alone prove nothing: another tool may take `token --namespace-id` too."""
    exec_ = user.get("exec") if isinstance(user, Mapping) else None
    if not isinstance(user, Mapping) or not isinstance(exec_, Mapping):
        return "has no exec stanza"
    args = exec_.get("args")
    hint = exec_.get("installHint")
    if kubeconfig_view.plugin_call(kubeconfig_view.Entry("", "", user)) is not None or (
        isinstance(args, list)
        and args[:2] == _OUR_ARGS
        and isinstance(hint, str)
        and hint.startswith(INSTALL_HINT_START)
    ):
        return None
    return f"runs {exec_.get('command')!r}, not {settings.APP_NAME}"


def default_context(namespace: str) -> str:
    return CONTEXT_PREFIX + namespace


def exec_command(flag: str | None, environ: Mapping[str, str]) -> str:
    """`--exec-command` as kubectl will run it: a relative path is made absolute (kubectl would
    otherwise take it relative to the kubeconfig's directory); a bare name stays a bare name.
    Without the flag, the launcher the user ran (`launcher.default_command`)."""
    if flag is None:
        return launcher.default_command(environ)
    if not flag.strip():
        raise UsageError("--exec-command is empty. Give a command name or path.")
    if ("/" in flag or os.sep in flag) and not Path(flag).is_absolute():
        return str(Path(flag).absolute())
    return flag


def check_namespace(name: str) -> str:
    if not settings.valid_namespace_name(name):
        raise UsageError(
            f"{name!r} is not a RemoteGPU namespace name: use 1-63 lower-case letters, digits and "
            "'-', starting and ending with a letter or digit (and not 'all')."
        )
    return name


def check_context(name: str) -> str:
    if not name or not name.isprintable() or name != name.strip():
        raise UsageError(f"--context {name!r} is not a usable context name: use printable text.")
    return name


def check_server(url: str) -> str:
    if not url.startswith("https://") or not url_rules.url_host(url) or url_rules.url_problem(url):
        raise UsageError(
            f"--server {url!r} is not an https:// URL. kubectl runs credential plugins only for "
            "TLS servers; copy the server URL from the console's kubeconfig."
        )
    return url.rstrip("/")


_CERTIFICATE_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\s]*?-----END CERTIFICATE-----"
)


def certificates_only(raw: bytes) -> bytes | None:
    """What of a CA file (or CA data) may be inlined into a kubeconfig: all of it when its only
    PEM blocks are certificates; else only its CERTIFICATE blocks, one after another (never a
    private key, or anything else, kept beside them). None when it holds no certificate."""
    if _PEM_MARKER not in raw:
        return None
    if b"-----BEGIN " not in raw.replace(_PEM_MARKER, b""):
        return raw
    blocks = _CERTIFICATE_BLOCK.findall(raw)
    return b"\n".join(b.replace(b"\r\n", b"\n") for b in blocks) + b"\n" if blocks else None


def ca_data_from_file(path: str) -> str:
    """The certificates of a CA file, as base64 to inline (`certificates_only`)."""
    raw = certificates_only(read_small_file(Path(path), "certificate authority file"))
    if raw is None:
        raise UsageError(f"{path} holds no PEM certificate ({_PEM_MARKER.decode()} ...).")
    return base64.b64encode(raw).decode("ascii")


def ca_data_from_flags(file: str | None, data: str | None) -> str | None:
    """The CA that `--certificate-authority FILE` or `--certificate-authority-data B64` gives
    (generate and import alike), as base64 to inline; None when neither is given."""
    if file:
        return ca_data_from_file(file)
    if data:
        return check_ca_data(data)
    return None


def check_ca_data(data: str) -> str:
    data = "".join(data.split())
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    certificates = certificates_only(raw)
    if certificates is None:
        raise UsageError(
            "--certificate-authority-data is not base64 of a PEM certificate. Copy the "
            "certificate-authority-data value from the console's kubeconfig, or pass the PEM "
            "file with --certificate-authority."
        )
    if certificates != raw:  # a key beside them is left out
        return base64.b64encode(certificates).decode("ascii")
    return data


def read_small_file(path: Path, what: str, limit: int = 1024 * 1024) -> bytes:
    """A regular file's bytes, at most `limit` of them: never a device, FIFO or directory (a
    `certificate-authority: /dev/zero` would otherwise be read forever). UsageError else."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path} ({exc.strerror or exc}).") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"the {what} {path} is not a regular file.")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"the {what} {path} is over {limit // 1024} KiB, which no CA file needs.")
    return data
