"""The on-disk token cache: one small text file per (API URL, namespace ID, identity).

Standard library only, and neither `json` nor `hashlib`: the cache-hit path imports this module.

Layout, in the cache directory (0700):
    <stem>.token   the entry (0600), written atomically (temp file, fsync, rename)
    <stem>.lock    the single-flight lock, a separate file (never the entry itself)
    <stem>.fail    a recent failed exchange, so kubectl's reruns fail fast (failure damping)
    <stem>.served  which client processes were given the entry's token (see `second_ask`)
    <stem>.forced  when the entry's last forced refresh began (see `second_ask`)
    <stem>.accepted  when the cluster last said it accepts the entry's token (see `second_ask`)
    <stem>.typed   which kubectl process was given a typed key's token, and that entry's identity
                   (see `typed_key`; beside the profile's entry, which a typed key never has)
where <stem> is the SHA-256 of the API URL, the namespace ID and the identity. The identity is
`key-hmac:<hex>` (an HMAC of the key with the user's secret: `key_identity`) for a key from the
environment (or typed at a prompt) and `profile:<name>` for a key held in the keyring, so a hit
never needs the keyring. The raw key is never written.

An entry is a header of `name value` lines; the token is stored as is (it must be visible ASCII
with no quote or backslash, see `exec_credential.token_is_safe`), so a hit needs no JSON parser.
Anything unreadable, malformed, foreign-owned, accessible to others, or a symlink is a miss.
"""

import os
import sys

from rgpu_exec.hotpath import private_files
from rgpu_exec.hotpath.exec_credential import token_is_safe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from typing_extensions import Self

ENTRY_MAGIC = "rgpu-exec-token 1"
ENTRY_SUFFIX = ".token"
LOCK_SUFFIX = ".lock"
FAILURE_SUFFIX = ".fail"
SERVED_SUFFIX = ".served"
FORCED_SUFFIX = ".forced"
ACCEPTED_SUFFIX = ".accepted"
TYPED_SUFFIX = ".typed"
# kubectl is told the token expires this much before it really does.
KUBECTL_EXPIRY_SLACK = 30.0
# Refresh once less than max(REFRESH_MIN, REFRESH_FRACTION * lifetime) remains, but never
# earlier than REFRESH_LIMIT of the lifetime: a token of a minute or less is still served from the
# cache for half its life, instead of every call exchanging (see `refresh_margin`).
REFRESH_MIN = 60.0
REFRESH_FRACTION = 0.10
REFRESH_LIMIT = 0.5
WRITTEN_SUFFIXES = (
    ENTRY_SUFFIX, FAILURE_SUFFIX, SERVED_SUFFIX, FORCED_SUFFIX, ACCEPTED_SUFFIX, TYPED_SUFFIX,
)  # fmt: skip
# The lines of each file, in order, after its first line (docs/architecture.md shows them).
ENTRY_FIELDS = ("api_url", "namespace_id", "identity", "issued_at", "expires_at", "token")


def _hashlib_sha256(data: bytes) -> "Any":
    import hashlib  # noqa: PLC0415 - only for a build without the built-in module

    return hashlib.sha256(data)


# The small built-in SHA-256 module loads in a fraction of the time hashlib (OpenSSL) takes;
# found once (a hit hashes several times: the entry's name, the key's fingerprint).
try:
    _sha256 = __import__("_sha2" if sys.version_info >= (3, 12) else "_sha256").sha256
except ImportError:  # a build without it
    _sha256 = _hashlib_sha256


def sha256_hex(data: bytes) -> str:
    return str(_sha256(data).hexdigest())


# HMAC (RFC 2104) on the built-in SHA-256: `hmac` imports `hashlib`, which costs more than a hit.
_BLOCK = 64
_IPAD = int.from_bytes(b"\x36" * _BLOCK, "big")
_OPAD = int.from_bytes(b"\x5c" * _BLOCK, "big")


def hmac_sha256_hex(secret: bytes, message: bytes) -> str:
    # hmac.new(secret, message, "sha256").hexdigest(), without importing hmac (a test holds it)
    if len(secret) > _BLOCK:
        secret = _sha256(secret).digest()
    padded = int.from_bytes(secret.ljust(_BLOCK, b"\0"), "big")
    inner = _sha256((padded ^ _IPAD).to_bytes(_BLOCK, "big") + message).digest()
    return str(_sha256((padded ^ _OPAD).to_bytes(_BLOCK, "big") + inner).hexdigest())


IDENTITY_KEY_FILE = "identity.key"
IDENTITY_KEY_MAGIC = "rgpu-exec-identity-key 1"
IDENTITY_KEY_BYTES = 32
KEY_IDENTITY = "key-hmac:"


def read_secret(directory: str) -> "bytes | None":
    # The key-fingerprint secret kept in `directory` (the user's config directory: see
    # `cache.identity_key`, which makes it), or None when there is none (yet) that is ours,
    # private (`private_files.read_private`) and well formed.
    text = private_files.read_private(os.path.join(directory, IDENTITY_KEY_FILE))
    magic, _, rest = (text or "").partition("\n")
    hexed, _, end = rest.partition("\n")
    if magic != IDENTITY_KEY_MAGIC or end or len(hexed) != 2 * IDENTITY_KEY_BYTES:
        return None
    try:
        return bytes.fromhex(hexed)
    except ValueError:
        return None


def file_path(directory: str, stem: str, suffix: str) -> str:
    """Where one of an entry's files lives: `<directory>/<stem><suffix>` (the one naming rule)."""
    return os.path.join(directory, stem + suffix)


def key_identity(api_key: str, secret: "bytes | None") -> str:
    # The key's fingerprint: an HMAC-SHA256 with the user's secret (`cache.identity_key`): no
    # use to test a guess at the key without that secret. Without one (None), the fingerprint
    # of a random secret of its own: it names no entry there is.
    # surrogatepass: any str has a fingerprint, even one holding bytes of the environment that
    # are not UTF-8 (the key is refused later, with a message, by `api_key.check_key`).
    secret = os.urandom(IDENTITY_KEY_BYTES) if secret is None else secret
    return KEY_IDENTITY + hmac_sha256_hex(secret, api_key.encode("utf-8", "surrogatepass"))


def profile_identity(profile: str) -> str:
    return "profile:" + profile


def identity(api_key: "str | None", profile: str, secret: "bytes | None") -> str:
    """Whose token an entry holds: the key's fingerprint when there is a key, else the profile."""
    # A key without the secret (None) gets an identity no entry has (not even worth an HMAC).
    if api_key is None:
        return profile_identity(profile)
    if secret is None:
        return "key-unkeyed:" + os.urandom(IDENTITY_KEY_BYTES).hex()
    return key_identity(api_key, secret)


def refresh_margin(lifetime: float) -> float:
    """How long before expiry an entry stops being fresh: min(max(60 s, 10 %), half its life)."""
    lifetime = max(lifetime, 0.0)
    return min(max(REFRESH_MIN, REFRESH_FRACTION * lifetime), REFRESH_LIMIT * lifetime)


def entry_stem(api_url: str, namespace_id: str, identity: str) -> str:
    return sha256_hex(f"{api_url}\n{namespace_id}\n{identity}".encode())


class CacheKey(tuple[str, str, str]):
    """Which entry stands for a request: (API URL, namespace ID, identity). One value, compared
    and hashed as a tuple; `stem` names its files."""

    __slots__ = ()

    def __new__(cls, api_url: str, namespace_id: str, identity: str) -> "Self":
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
        # Named once per key and process: a hit asks for it several times.
        stem = _STEMS.get(self)
        if stem is None:
            stem = _STEMS[self] = entry_stem(*self)
        return stem


_STEMS: "dict[CacheKey, str]" = {}


class Entry:
    """A cached token. Times are epoch seconds on the local clock (already corrected for skew)."""

    __slots__ = ("expires_at", "issued_at", "key", "token")

    def __init__(self, key: "CacheKey", issued_at: float, expires_at: float, token: str) -> None:
        self.key = key
        self.issued_at = issued_at
        self.expires_at = expires_at
        self.token = token

    @property
    def refresh_at(self) -> float:
        return self.expires_at - refresh_margin(self.expires_at - self.issued_at)

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


def read_entry(directory: str, key: "CacheKey") -> "Entry | None":
    entry = parse_entry(private_files.read_private(file_path(directory, key.stem, ENTRY_SUFFIX)))
    return entry if entry is not None and entry.key == key else None


def parse_entry(text: "str | None") -> "Entry | None":
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


def write_entry(directory: str, entry: "Entry") -> None:
    private_files.ensure_directory(directory)
    stem = entry.key.stem
    private_files.write_atomically(file_path(directory, stem, ENTRY_SUFFIX), entry.render())
    remove(directory, stem, FAILURE_SUFFIX)


def remove(directory: str, stem: str, suffix: str) -> None:
    try:
        os.unlink(file_path(directory, stem, suffix))
    except FileNotFoundError:
        pass
