"""What can go wrong, and the exit code each failure gives.

    RgpuExecError                 1  (base; anything unexpected that we still explain)
     ├── UsageError               2  bad flags, environment, exec info or input files, or an
     │                               API URL that is not the RemoteGPU API (a 404 not its own)
     ├── ApiKeyError              3  no API key, or the API rejected it (401)
     ├── NamespaceAccessError     4  the key may not use this namespace (403), or no such one (404)
     └── ApiError                 5  the API is unreachable, timed out, or answered nonsense
          (transient=True: network, timeout, 429 or 5xx — worth retrying later)

Messages say what happened and what to do. They never contain an API key or a token: only the
key prefix (see `redact.key_prefix`). The CLI prints `rgpu-exec: <message>` to stderr.
"""

from __future__ import annotations

from enum import IntEnum

from rgpu_exec.hotpath.exec_credential import OUTPUT_GONE as _OUTPUT_GONE


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    API_KEY = 3
    NAMESPACE_ACCESS = 4
    API = 5
    PROBLEMS_FOUND = 6  # `rgpu-exec doctor` ran fine and found something to fix
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
    # the reader of stdout went away (a closed pipe), as shells report SIGPIPE
    OUTPUT_GONE = _OUTPUT_GONE


# What each exit code means, as `--help` shows it (the command-specific lists live with each
# command, and use these numbers through `ExitCode`).
_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.UNEXPECTED: "unexpected error (a bug: please report it with RGPU_EXEC_LOG=debug "
    "output)",
    ExitCode.USAGE: "usage or bad input (flags, environment, exec info, files, an API URL that\n"
    "     is not the RemoteGPU API)",
    ExitCode.API_KEY: "no API key, or the API rejected the key",
    ExitCode.NAMESPACE_ACCESS: "the key may not use that namespace, or the namespace does not "
    "exist",
    ExitCode.API: "the RemoteGPU API is unreachable, timed out, or answered nonsense",
    ExitCode.PROBLEMS_FOUND: "`rgpu-exec doctor` found a problem (each is listed with its fix)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.OUTPUT_GONE: "the reader of the output went away (a closed pipe, as `| head` does)",
}


def exit_codes_help(*codes: ExitCode) -> str:
    """The `exit codes:` block of `--help` for these codes (every code when none is named)."""
    lines = [f"  {code}  {_MEANINGS[code]}" for code in codes or tuple(ExitCode)]
    return "exit codes:\n" + "\n".join(lines) + "\n"


EXIT_CODES_HELP = exit_codes_help()


class RgpuExecError(Exception):
    exit_code: ExitCode = ExitCode.UNEXPECTED
    # Set by a command that printed its own `-o json` document for this error: the CLI then
    # prints no other (one document per run, docs/json-output.md).
    json_document_printed: bool = False
    # (variable, value): the same command works when run again with the variable exported so
    # (`KUBECONFIG=/dev/null`, an API URL without its scheme). The CLI, which alone knows the
    # command line, prints that fix (`cli.with_rerun`); `token` is run by kubectl: its message
    # says what to export.
    rerun_with: tuple[str, str] | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"rgpu-exec: {self.message}"


class RecentFailureError(RgpuExecError):
    """A failure recorded seconds ago, replayed to kubectl's reruns with its own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message.removeprefix("rgpu-exec: ").rstrip("\n"))
        self.exit_code = ExitCode(exit_code) if exit_code in set(ExitCode) else ExitCode.UNEXPECTED


class UsageError(RgpuExecError):
    exit_code = ExitCode.USAGE


class ApiKeyError(RgpuExecError):
    """The key is missing or the API rejected it. `problem` says why (with the API's `code`, e.g.
    `revoked_api_key`); `remedy` what to do, which depends on where the key came from."""

    exit_code = ExitCode.API_KEY

    def __init__(self, problem: str, *, code: str | None = None, remedy: str = "") -> None:
        super().__init__(f"{problem} {remedy}".strip())
        self.problem = problem
        self.code = code

    def with_remedy(self, remedy: str) -> ApiKeyError:
        return ApiKeyError(self.problem, code=self.code, remedy=remedy)


class NamespaceAccessError(RgpuExecError):
    """403 or 404 from the exchange; `code` and `api_message` are the API's own, as it sent them
    (sanitised), for callers that report them separately (`check -o json`)."""

    exit_code = ExitCode.NAMESPACE_ACCESS

    def __init__(
        self, message: str, *, status: int, code: str | None, api_message: str | None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.api_message = api_message


class ApiError(RgpuExecError):
    """`status` is None when no HTTP answer came at all; `code` and `api_message` as above.
    `problem` is what happened; the message adds `remedy`, what to do, when it is given apart
    (so that `doctor` can show the two in their own places)."""

    exit_code = ExitCode.API

    def __init__(
        self,
        problem: str,
        *,
        transient: bool,
        status: int | None = None,
        code: str | None = None,
        api_message: str | None = None,
        remedy: str = "",
    ) -> None:
        super().__init__(f"{problem} {remedy}".rstrip())
        self.problem = problem
        self.remedy = remedy
        self.transient = transient
        self.status = status
        self.code = code
        self.api_message = api_message
