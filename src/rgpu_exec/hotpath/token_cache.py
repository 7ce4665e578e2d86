"""The on-disk token cache: one small text file per (API URL, namespace ID, identity).

Standard library only, and neither `json` nor `hashlib`: the cache-hit path imports this module.

Layout, in the cache directory (0700):
    <stem>.token   the entry (0600), written atomically (temp file, fsync, rename)
    <stem>.lock    the single-flight lock, a separate file (never the entry itself)
    <stem>.fail    a recent failed exchange, so kubectl's reruns fail fast (failure damping)
    <stem>.served  which client processes were given the entry's token (see `second_ask`)
    <stem>.forced  when the entry's last forced refresh began (see `second_ask`)
where <stem> is the SHA-256 of the API URL, the namespace ID and the identity. The identity is
`key-sha256:<hex>` for a key from the environment (or typed at a prompt) and `profile:<name>` for
a key held in the keyring, so a hit never needs the keyring. The raw key is never written.

An entry is a header of `name value` lines; the token is stored as is (it must be visible ASCII
with no quote or backslash, see `exec_credential.token_is_safe`), so a hit needs no JSON parser.
Anything unreadable, malformed, foreign-owned, accessible to others, or a symlink is a miss.
"""

from __future__ import annotations

import os
import sys

from rgpu_exec.hotpath import private_files
from rgpu_exec.hotpath.exec_credential import token_is_safe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing_extensions import Self

ENTRY_MAGIC = "rgpu-exec-token 1"
FAILURE_MAGIC = "rgpu-exec-failure 2"
ENTRY_SUFFIX = ".token"
LOCK_SUFFIX = ".lock"
FAILURE_SUFFIX = ".fail"
SERVED_SUFFIX = ".served"
FORCED_SUFFIX = ".forced"
# kubectl is told the token expires this much before it really does.
KUBECTL_EXPIRY_SLACK = 30.0
# Refresh once less than max(REFRESH_MIN, REFRESH_FRACTION * lifetime) remains.
REFRESH_MIN = 60.0
REFRESH_FRACTION = 0.10
WRITTEN_SUFFIXES = (ENTRY_SUFFIX, FAILURE_SUFFIX, SERVED_SUFFIX, FORCED_SUFFIX)
# The lines of each file, in order, after its first line (docs/architecture.md shows them).
ENTRY_FIELDS = ("api_url", "namespace_id", "identity", "issued_at", "expires_at", "token")
FAILURE_FIELDS = ("since", "until", "exit_code", "transient", "settings", "entry")


def _sha256_hex(data: bytes) -> str:
    # The small built-in SHA-256 module loads in a fraction of the time hashlib (OpenSSL) takes.
    try:
        module = __import__("_sha2" if sys.version_info >= (3, 12) else "_sha256")
    except ImportError:  # a build without it
        import hashlib  # noqa: PLC0415

        return hashlib.sha256(data).hexdigest()
    return str(module.sha256(data).hexdigest())


def file_path(directory: str, stem: str, suffix: str) -> str:
    """Where one of an entry's files lives: `<directory>/<stem><suffix>` (the one naming rule)."""
    return os.path.join(directory, stem + suffix)


def key_identity(api_key: str) -> str:
    # surrogatepass: any str has a fingerprint, even one holding bytes of the environment that
    # are not UTF-8 (the key is refused later, with a message, by `api_key.check_key_format`).
    return "key-sha256:" + _sha256_hex(api_key.encode("utf-8", "surrogatepass"))


def profile_identity(profile: str) -> str:
    return "profile:" + profile


def identity(api_key: str | None, profile: str) -> str:
    """Whose token an entry holds: the key's fingerprint when there is a key, else the profile."""
    return key_identity(api_key) if api_key is not None else profile_identity(profile)


def entry_stem(api_url: str, namespace_id: str, identity: str) -> str:
    return _sha256_hex(f"{api_url}\n{namespace_id}\n{identity}".encode())


class CacheKey(tuple[str, str, str]):
    """Which entry stands for a request: (API URL, namespace ID, identity). One value, compared
    and hashed as a tuple; `stem` names its files."""

    __slots__ = ()

    def __new__(cls, api_url: str, namespace_id: str, identity: str) -> Self:
        return tuple.__new__(cls, (api_url, namespace_id, identity))

    @property
    def api_url(self) -> str:
        return self[0]

    @property
    def namespace_id(self) -> str:
        return self[1]

    @property
    def identity(self) -> str:
        return self[2]

    @property
    def stem(self) -> str:
        return entry_stem(*self)


class Entry:
    """A cached token. Times are epoch seconds on the local clock (already corrected for skew)."""

    __slots__ = ("expires_at", "issued_at", "key", "token")

    def __init__(self, key: CacheKey, issued_at: float, expires_at: float, token: str) -> None:
        self.key = key
        self.issued_at = issued_at
        self.expires_at = expires_at
        self.token = token

    @property
    def refresh_at(self) -> float:
        lifetime = max(self.expires_at - self.issued_at, 0.0)
        return self.expires_at - max(REFRESH_MIN, REFRESH_FRACTION * lifetime)

    def fresh(self, now: float) -> bool:
        """Good to serve without trying a refresh."""
        return now < self.refresh_at

    def valid(self, now: float) -> bool:
        """Not expired yet (may be inside the refresh margin)."""
        return now < self.expires_at

    def kubectl_expiry(self, now: float) -> float:
        """What kubectl is told: a little before the real expiry, never already past."""
        early = self.expires_at - KUBECTL_EXPIRY_SLACK
        return early if early > now else self.expires_at

    def render(self) -> str:
        key = self.key
        values = (key.api_url, key.namespace_id, key.identity, self.issued_at, self.expires_at)
        lines = [ENTRY_MAGIC]
        lines += [
            f"{name} {value!s}" for name, value in zip(ENTRY_FIELDS[:-1], values, strict=True)
        ]
        lines.append(f"token {self.token}")
        return "\n".join([*lines, "end", ""])


class Failure:
    """A failed exchange at `since`: replayed to kubectl's reruns until `until`, while the
    settings it failed under (`settings_hash`, see `settings.exchange_settings`) still hold.
    `key` is the entry it is for (so that `cache list` can say which), when known."""

    __slots__ = ("exit_code", "key", "message", "settings_hash", "since", "transient", "until")

    def __init__(
        self,
        since: float,
        until: float,
        exit_code: int,
        transient: bool,
        message: str,
        *,
        settings_hash: str = "",
        key: CacheKey | None = None,
    ) -> None:
        self.key = key
        self.since = since
        self.until = until
        self.exit_code = exit_code
        self.transient = transient
        self.message = message
        self.settings_hash = settings_hash

    def render(self) -> str:
        # URL, ID and identity hold no space (`request` refuses any in the URL and profile).
        entry = " ".join(self.key) if self.key else "-"
        values = (
            repr(self.since),
            repr(self.until),
            self.exit_code,
            int(self.transient),
            self.settings_hash or "-",
            entry,
        )
        lines = [f"{name} {value}" for name, value in zip(FAILURE_FIELDS, values, strict=True)]
        return "\n".join([FAILURE_MAGIC, *lines, "", self.message])

    def replay(self, now: float) -> str:
        """The message again, saying it is remembered (kubectl reruns a failing plugin)."""
        age = max(now - self.since, 0.0)
        return (
            f"{self.message.rstrip()} (remembered from {age:.0f} s ago, so that kubectl's "
            "retries do not each ask the API; `rgpu-exec cache clear` forgets it)\n"
        )


def read_entry(directory: str, key: CacheKey) -> Entry | None:
    entry = parse_entry(private_files.read_private(file_path(directory, key.stem, ENTRY_SUFFIX)))
    return entry if entry is not None and entry.key == key else None


def parse_entry(text: str | None) -> Entry | None:
    """An entry from its file text, or None for anything that is not exactly a valid entry."""
    if not text:
        return None
    lines = text.split("\n")
    if len(lines) != len(ENTRY_FIELDS) + 3 or lines[0] != ENTRY_MAGIC or lines[-2:] != ["end", ""]:
        return None
    values: dict[str, str] = {}
    for line, name in zip(lines[1:-2], ENTRY_FIELDS, strict=True):
        key, sep, value = line.partition(" ")
        if key != name or not sep or not value:
            return None
        values[name] = value
    try:
        issued_at = float(values["issued_at"])
        expires_at = float(values["expires_at"])
    except ValueError:
        return None
    if not (issued_at < expires_at < float("inf")) or not token_is_safe(values["token"]):
        return None
    cache_key = CacheKey(values["api_url"], values["namespace_id"], values["identity"])
    return Entry(cache_key, issued_at, expires_at, values["token"])


def settings_hash(exchange_settings: str) -> str:
    """The fingerprint a failure is recorded under (`settings.exchange_settings`)."""
    return _sha256_hex(exchange_settings.encode("utf-8", "surrogatepass"))[:32]


def read_failure(
    directory: str, stem: str, now: float, exchange_settings: str | None = None
) -> Failure | None:
    """The failure recorded for this entry, if it is still within its damping window and, when
    `exchange_settings` is given, was recorded under those same settings."""
    text = private_files.read_private(file_path(directory, stem, FAILURE_SUFFIX))
    if not text:
        return None
    header, sep, message = text.partition("\n\n")
    lines = header.split("\n")
    if not sep or not message or len(lines) != len(FAILURE_FIELDS) + 1 or lines[0] != FAILURE_MAGIC:
        return None
    values: dict[str, str] = {}
    for line, name in zip(lines[1:], FAILURE_FIELDS, strict=True):
        field, space, value = line.partition(" ")
        if field != name or not space:
            return None
        values[name] = value
    try:
        since = float(values["since"])
        until = float(values["until"])
        exit_code = int(values["exit_code"])
    except ValueError:
        return None
    if not since <= now < until or not 0 < exit_code < 256:  # noqa: PLR2004
        return None
    recorded_under = values["settings"]
    if exchange_settings is not None and recorded_under != settings_hash(exchange_settings):
        return None  # the settings changed since: maybe fixed, so the exchange is tried again
    parts = values["entry"].split(" ")
    key = CacheKey(*parts) if len(parts) == 3 else None  # noqa: PLR2004 - URL, ID, identity
    transient = values["transient"] == "1"
    return Failure(
        since, until, exit_code, transient, message, settings_hash=recorded_under, key=key
    )


def lookup(
    directory: str, key: CacheKey, now: float, exchange_settings: str | None = None
) -> tuple[Entry | None, Entry | Failure | None]:
    """What the cache alone can answer, and the entry it holds (fresh or not).

    The answer is an Entry to serve, a Failure to replay (failure damping), or None when an
    exchange is needed. A token inside its refresh margin is served only while a transient
    failure to refresh it is being damped (stale-but-valid fallback).
    """
    entry = read_entry(directory, key)
    if entry is not None and entry.fresh(now):
        return entry, entry
    failure = read_failure(directory, key.stem, now, exchange_settings)
    if failure is None:
        return entry, None
    if entry is not None and entry.valid(now) and failure.transient:
        return entry, entry
    return entry, failure


def write_entry(directory: str, entry: Entry) -> None:
    private_files.ensure_directory(directory)
    stem = entry.key.stem
    private_files.write_atomically(file_path(directory, stem, ENTRY_SUFFIX), entry.render())
    remove(directory, stem, FAILURE_SUFFIX)


def write_failure(directory: str, stem: str, failure: Failure) -> None:
    private_files.ensure_directory(directory)
    private_files.write_atomically(file_path(directory, stem, FAILURE_SUFFIX), failure.render())


def remove(directory: str, stem: str, suffix: str) -> None:
    try:
        os.unlink(file_path(directory, stem, suffix))
    except FileNotFoundError:
        pass
