"""The use cases of `rgpu-exec login` and `logout`: keep a profile's API key in the OS keyring,
or, with `--insecure-storage` (an explicit opt-in, for machines without a keyring), in the key
file (`credentials.file_store`); `logout` deletes it from both.

`login` first proves the key with one exchange for a namespace it should reach (`--namespace-id`,
or the current kubeconfig context when it runs rgpu-exec with that profile), as `gh auth login`
checks a token: a key the API rejects is not stored.

Both purge the profile's cached tokens, so a new key never serves a token issued to the old one
(the cache knows a keyring key only by its profile name, never by the key itself).

Neither prints: each returns what it has to say, in order (`Said`), and a failure that stopped
it after something was said (`error`), for the command to render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from rgpu_exec import contract, fixes, output
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.cache import files as cache_files
from rgpu_exec.cache.directory import cache_directory
from rgpu_exec.credentials import file_store, keyring_store
from rgpu_exec.credentials.api_key import STDIN_ADVICE, TYPED_ADVICE, ApiKey, check_key
from rgpu_exec.credentials.key_shape import shape_note
from rgpu_exec.errors import ApiKeyError, RgpuExecError, UsageError
from rgpu_exec.hotpath import private_files, settings, token_cache
from rgpu_exec.redact import key_prefix
from rgpu_exec.usecases.key_exchange import KeyExchange
from rgpu_exec.usecases.login_target import Target, verification_target

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rgpu_exec.sourced import Sourced


@dataclass(frozen=True)
class LoginRequest:
    """`login`'s flags, resolved: the profile (validated), whether to verify the key first
    (not with `--no-verify`) and against what (`--namespace-id`, validated; `--context`;
    `--kubeconfig`; `--api-url`), and where to store it."""

    profile: str
    verify: bool = True
    namespace_id: str | None = None
    api_url: Sourced[str] | None = None  # None: no --api-url (the context's, else the default)
    context: str | None = None
    kubeconfig: str | None = None
    insecure_storage: bool = False


@dataclass(frozen=True)
class LogoutRequest:
    profile: str


@dataclass(frozen=True)
class KeyInput:
    """Where `login` reads the key: a prompt without echo on a terminal, else stdin."""

    stdin_is_tty: bool
    read_stdin: Callable[[], str]
    prompt: Callable[[str], str]


Said = tuple[Literal["line", "warning"], str]  # a report line (stdout), or a warning (stderr)


@dataclass
class LoginResult:
    """What `login` or `logout` has to say, in order; and the failure that stopped it, if one
    did after something was said (the command says that, then fails with it)."""

    said: list[Said] = field(default_factory=list)
    error: RgpuExecError | None = None

    def line(self, text: str) -> None:
        self.said.append(("line", text))

    def warning(self, text: str) -> None:
        self.said.append(("warning", text))


def run(request: LoginRequest, environ: Mapping[str, str], keyboard: KeyInput) -> LoginResult:
    """`login`: what to verify the key against (flags and kubeconfig first: a mistake there
    costs no typed key), the key, then `store`."""
    verify: Target | str = "--no-verify"
    if request.verify:
        verify = verification_target(
            request.profile,
            environ,
            namespace_id=request.namespace_id,
            api_url=request.api_url,
            context=request.context,
            kubeconfig=request.kubeconfig,
        )
    key = read_key(
        request.profile,
        stdin_is_tty=keyboard.stdin_is_tty,
        read_stdin=keyboard.read_stdin,
        prompt=keyboard.prompt,
        flags=given_flags(request),
    )
    return store(
        request.profile, key, environ, verify=verify, insecure_storage=request.insecure_storage
    )


def given_flags(request: LoginRequest) -> tuple[str, ...]:
    """The flags of this `login`, as the user gave them, for a rerun to repeat (the key is
    never a flag)."""
    named = (
        ("--namespace-id", request.namespace_id),
        ("--context", request.context),
        ("--kubeconfig", request.kubeconfig),
        ("--api-url", request.api_url.value if request.api_url else None),
    )
    switches = (
        ("--no-verify", not request.verify),
        ("--insecure-storage", request.insecure_storage),
    )
    return (
        *(part for flag, value in named if value for part in (flag, value)),
        *(flag for flag, on in switches if on),
    )


def run_logout(request: LogoutRequest, environ: Mapping[str, str]) -> LoginResult:
    return logout(request.profile, environ)


def read_key(
    profile: str,
    *,
    stdin_is_tty: bool,
    read_stdin: Callable[[], str],
    prompt: Callable[[str], str],
    flags: tuple[str, ...] = (),
) -> str:
    """The key, typed or piped in; `flags`: the others the user gave, which a rerun repeats."""
    if stdin_is_tty:
        value = prompt(f"RemoteGPU API key for profile {profile!r} (not echoed): ").strip()
        where, advice = "the key you typed", TYPED_ADVICE
    else:
        value = read_stdin().strip()
        where, advice = "the key read from stdin", STDIN_ADVICE
    if not value:
        again = fixes.command("rgpu-exec", "login", "--profile", profile, *flags)
        raise UsageError(
            f"no API key given. Paste the key when asked, or pipe it in: {again} reads it from "
            "stdin when stdin is not a terminal."
        )
    output.know(value)  # the output gate never shows it, not even in a message about it
    check_key(value, where, advice)
    return value


def store(
    profile: str,
    key: str,
    environ: Mapping[str, str],
    *,
    verify: Target | str,
    insecure_storage: bool = False,
) -> LoginResult:
    """Store the key, after one exchange that proves it (unless `verify` says why not): a key
    the API rejects is not stored, and the error keeps the exchange's exit code."""
    done = LoginResult()
    try:
        _store(done, profile, key, environ, verify=verify, insecure_storage=insecure_storage)
    except RgpuExecError as exc:
        done.error = exc
    return done


def _store(
    done: LoginResult,
    profile: str,
    key: str,
    environ: Mapping[str, str],
    *,
    verify: Target | str,
    insecure_storage: bool,
) -> None:
    out, warn = done.line, done.warning
    prefix = key_prefix(key)
    note = shape_note(key)
    if note and not isinstance(verify, Target):  # unverified: say what can be seen locally
        warn(f"rgpu-exec: note: {note} It is stored as given; the API will judge it.")
    if insecure_storage:  # before spending an exchange on a key it cannot keep
        file_store.get_key(profile, environ)  # a key file with loose permissions is refused
    else:
        keyring_store.check_usable(environ)
    if isinstance(verify, Target):
        # The key is this command's input, not a source to advise on: the API's answer as is.
        exchanger = KeyExchange(
            ApiKey(key, "prompt"),
            ApiEndpoint(verify.api_url, environ, url_source=verify.api_url_source),
            explain=False,
        )
        try:
            exchanger.exchange(verify.namespace_id, verify.namespace)
        except RgpuExecError as exc:
            exc.message = _not_stored(prefix, exc, note, verify)
            raise
        source = f" (context {verify.context!r})" if verify.context else ""
        out(
            f"rgpu-exec: verified with {verify.api_url} ({verify.api_url_source}): the key "
            f"{prefix} may use namespace {verify.label}{source}."
        )
    if insecure_storage:
        where = f"in the key file {file_store.set_key(profile, key, environ)} (plain text, 0600)"
        exposed = file_store.exposed_warning(environ)
        if exposed is not None:
            warn(exposed)
    else:
        backend = keyring_store.set_key(profile, key)
        where = f"in the OS keyring ({backend}, service {keyring_store.SERVICE!r})"
    removed = purge_profile(profile, environ)
    unverified = f" It was stored unverified: {verify}." if isinstance(verify, str) else ""
    out(
        f"rgpu-exec: stored the API key {prefix} for profile {profile!r} "
        f"{where}{_removed(removed)}.{unverified}"
    )
    if settings.api_key(environ) is not None:
        warn(
            f"rgpu-exec: note: {settings.ENV_API_KEY} is set in this shell and takes precedence "
            f"over the stored key unless --profile is given: unset it to use the stored key."
        )


def _not_stored(prefix: str, exc: RgpuExecError, note: str | None, verify: Target) -> str:
    """A failed verification: the API asked (and where its URL came from); a key the API
    rejected is its verdict (a new key is the way out), anything else may be skipped."""
    asked = f"asked {verify.api_url} ({verify.api_url_source})"
    if isinstance(exc, ApiKeyError):
        shape = f" {note}" if note else ""
        return (
            f"the key {prefix} was not stored: {exc.message}{shape} ({asked}.) Create a key with "
            f"Kubernetes access in {contract.KEYS_CONSOLE_PAGE}, then log in with it."
        )
    return (
        f"the key {prefix} was not stored: {exc.message} ({asked}; `rgpu-exec login "
        "--no-verify` stores a key without this check.)"
    )


def logout(profile: str, environ: Mapping[str, str]) -> LoginResult:
    """Delete the profile's key from the keyring (any backend that holds keys, a plaintext one
    too) and from the key file. A machine without a keyring holds no key there: no error."""
    done = LoginResult()
    # Tokens first: even when the keyring cannot be reached, logging out stops their use.
    removed = purge_profile(profile, environ)
    deleted = []
    try:
        if file_store.delete_key(profile, environ):
            deleted.append(f"the key file {file_store.path(environ)}")
        if keyring_store.holds_keys() and keyring_store.delete_key(profile):
            deleted.append(f"the OS keyring ({keyring_store.backend_name()})")
    except RgpuExecError as exc:
        if removed:
            exc.message += f" (The profile's {removed} cached token(s) were removed.)"
        raise
    if deleted:
        what = f"deleted the API key of profile {profile!r} from {' and '.join(deleted)}"
    else:
        what = f"no API key was stored for profile {profile!r}"
    done.line(f"rgpu-exec: {what}{_removed(removed)}.")
    if settings.api_key(environ) is not None:  # what rgpu-exec goes on using
        unset = fixes.command("unset", settings.ENV_API_KEY)
        done.warning(
            f"rgpu-exec: note: {settings.ENV_API_KEY} is still set in this shell, and rgpu-exec "
            f"uses it (unless --profile is given): run {unset} to stop that."
        )
    return done


def purge_profile(profile: str, environ: Mapping[str, str]) -> int:
    """Remove every cached token of this profile (any API URL, any namespace); how many."""
    directory = cache_directory(environ)
    if private_files.directory_problem(directory):  # not used as a cache, and maybe not ours
        return 0
    identity = token_cache.profile_identity(profile)
    return cache_files.purge_matching(directory, identity=identity)


def _removed(count: int) -> str:
    if not count:
        return ""
    return f"; removed {count} cached token{'s' if count != 1 else ''}"
