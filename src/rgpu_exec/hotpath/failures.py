"""A failure of `token`, recorded for a few seconds (`<stem>.fail`), so that kubectl's reruns of
a failing plugin get the same answer in one line, without reaching the API (failure damping),
and a still-valid token keeps being served while a refresh is failing (the stale fallback).
A failure of an entry is recorded beside it (the hot path replays it); a failure before the
request is known (exec info, flags), under `told_stem` of what was told. See
docs/architecture.md.

Standard library only; loaded only when an entry is not fresh (never on a usual cache hit).
"""

import os

from rgpu_exec.hotpath import private_files, settings, token_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

FAILURE_MAGIC = "rgpu-exec-failure 3"
# The lines after the first (docs/architecture.md shows them). `transient` 1: a blip worth
# retrying (network, 429, 5xx); `fallback` 1: a refresh failed other than by the API's verdict on
# the key or the namespace, so a cached token that still lasts a command is served meanwhile
# (the stale fallback).
FAILURE_FIELDS = ("since", "until", "exit_code", "transient", "fallback", "settings", "entry")

# The least life a cached token must have left to be handed over while a refresh is failing:
# enough for one kubectl command. kubectl uses the token for every request of the command (and,
# told an expiry under 30 s away, runs the plugin again only once that has passed); a command
# that meets an expired token fails with "Unauthorized", which says nothing of the real failure.
# 10 s is the longest a command may take (the goal of the fault soak); a token whose whole
# lifetime is under 40 s gets a quarter of it instead, so that it still has a fallback window.
COMMAND_LIFE = 10.0
COMMAND_LIFE_FRACTION = 0.25


def command_life(lifetime: float) -> float:
    """The least life a token of this `lifetime` must have left to be handed over."""
    return min(COMMAND_LIFE, COMMAND_LIFE_FRACTION * max(lifetime, 0.0))


def usable_until(entry: "token_cache.Entry") -> float:
    """Until when a cached token may be handed over: its expiry less `command_life`."""
    return entry.expires_at - command_life(entry.expires_at - entry.issued_at)


def lasts_a_command(entry: "token_cache.Entry", now: float) -> bool:
    """Whether the token still has enough life for a kubectl command (`command_life`)."""
    return now < usable_until(entry)


# While a token is served because a refresh failed, the API is asked again after
# STALE_RETRY_MAX, or after a quarter of the time the token may still be handed over (at least
# STALE_RETRY_MIN) if that is sooner: a fault of a few answers is ridden out before the token is
# too short (40 s tokens: 10 s to do it in, 8 attempts). Each attempt gives up within
# STALE_REFRESH_DEADLINE, or half that time (at least STALE_REFRESH_MIN) if sooner, so that a
# failed one still leaves a token that lasts a command.
STALE_RETRY_MAX = 30.0
STALE_RETRY_SHARE = 0.25
STALE_RETRY_MIN = 1.0
STALE_REFRESH_DEADLINE = 5.0
STALE_REFRESH_MIN = 0.5


def retry_after(entry: "token_cache.Entry", now: float) -> float:
    """How long a failed refresh is damped while `entry` is served (`STALE_RETRY_*`)."""
    left = usable_until(entry) - now
    return min(STALE_RETRY_MAX, max(STALE_RETRY_MIN, STALE_RETRY_SHARE * left), left)


def refresh_deadline(entry: "token_cache.Entry", now: float, deadline: float) -> float:
    """The deadline of a refresh while `entry` is in hand (`STALE_REFRESH_*`)."""
    left = usable_until(entry) - now
    return min(STALE_REFRESH_DEADLINE, deadline, max(STALE_REFRESH_MIN, left / 2))


def told_stem(*told: str) -> str:
    """Where a failure found before the request is known is recorded: the SHA-256 of what was
    told and of what it was told for, so that the same failure again (and only it) is damped."""
    return token_cache.sha256_hex("\n".join(("rgpu-exec-told", *told)).encode("utf-8", "replace"))


class Failure:
    """A failure of `token` at `since`: replayed to kubectl's reruns until `until`, while the
    settings it failed under (`settings_hash`, see `settings.exchange_settings`) still hold.
    `key` is the entry it is for (so that `cache list` can say which), when known."""

    __slots__ = (
        "exit_code",
        "fallback",
        "key",
        "message",
        "settings_hash",
        "since",
        "transient",
        "until",
    )

    def __init__(
        self,
        since: float,
        until: float,
        exit_code: int,
        transient: bool,
        message: str,
        *,
        settings_hash: str = "",
        key: "token_cache.CacheKey | None" = None,
        fallback: bool = False,
    ) -> None:
        self.key = key
        self.fallback = fallback
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
            int(self.fallback),
            self.settings_hash or "-",
            entry,
        )
        lines = [f"{name} {value}" for name, value in zip(FAILURE_FIELDS, values, strict=True)]
        return "\n".join([FAILURE_MAGIC, *lines, "", self.message])

    def replay(self, now: float) -> str:
        """One line for kubectl's reruns of a failing plugin (5 or so per command): the message
        was told in full the first time; this names it by its first sentence and says it is
        remembered, instead of printing the whole of it five times."""
        age = max(now - self.since, 0.0)
        left = max(self.until - now, 0.0)
        return (
            f"{summary(self.message)} [same failure as {age:.0f} s ago, told in full then; not "
            f"retried for {left:.0f} s, `rgpu-exec cache clear` forgets it]\n"
        )


def summary(message: str, most: int = 160) -> str:
    """A message's first sentence, on one line, at most `most` characters."""
    text = " ".join(message.split())
    cut = text.find(". ")
    first = text if cut < 0 else text[: cut + 1]
    return first if len(first) <= most else first[: most - 1] + "…"


def settings_hash(exchange_settings: str) -> str:
    """The fingerprint a failure is recorded under (`settings.exchange_settings`)."""
    return token_cache.sha256_hex(exchange_settings.encode("utf-8", "surrogatepass"))[:32]


def key_file_state(environ: "Mapping[str, str]") -> str:
    """The state of the key file and of its directory (mode, owner, inode; the file's size and
    change times; or "absent"): part of a request's `exchange_settings`, so that a failure
    recorded before the user fixed the file (`chmod 600` after a refusal of loose permissions)
    is not replayed: the fix takes effect at once. Two `stat` calls, made only when a failure
    record is read or written (never on a usual hit). Holds nothing secret."""
    directory = settings.config_dir(environ)
    if directory is None:
        return "key-file=unknown"
    states = []
    key_file = os.path.join(directory, settings.KEY_FILE_NAME)
    for path, whole in ((directory, False), (key_file, True)):
        try:
            st = os.lstat(path)
        except OSError as exc:
            states.append(f"absent:{exc.errno}")
            continue
        state = f"{st.st_mode:o}:{st.st_uid}:{st.st_dev}:{st.st_ino}"
        # The directory's times change with any file made in it (locks, the fingerprint
        # secret): only its mode and owner decide whether the key file is used.
        if whole:
            state += f":{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
        states.append(state)
    return "key-file=" + " ".join(states)


def read_failure(
    directory: str,
    stem: str,
    now: float,
    exchange_settings: "Callable[[], str] | None" = None,
) -> "Failure | None":
    """The failure recorded for this entry, if it is still within its damping window and, when
    `exchange_settings` is given, was recorded under the settings it returns."""
    text = private_files.read_private(
        token_cache.file_path(directory, stem, token_cache.FAILURE_SUFFIX)
    )
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
    if exchange_settings is not None and recorded_under != settings_hash(exchange_settings()):
        return None  # the settings changed since: maybe fixed, so the exchange is tried again
    parts = values["entry"].split(" ")
    # URL, namespace ID and identity; a record without them names no entry.
    key = token_cache.CacheKey(*parts) if len(parts) == 3 else None  # noqa: PLR2004
    transient = values["transient"] == "1"
    fallback = values["fallback"] == "1"
    return Failure(
        since,
        until,
        exit_code,
        transient,
        message,
        settings_hash=recorded_under,
        key=key,
        fallback=fallback,
    )


def damp(
    directory: str,
    stem: str,
    failure: "Failure",
    exchange_settings: "Callable[[], str] | None" = None,
) -> "Failure | None":
    """Failure damping, for a failure about to be told: the same failure recorded moments ago
    (its window still open: tell it in one line, `Failure.replay`), or None after recording
    this one (tell it in full). Never fails for the record."""
    try:
        told = read_failure(directory, stem, failure.since, exchange_settings)
        if told is None:
            write_failure(directory, stem, failure)
    except OSError:
        return None
    return told


def write_failure(directory: str, stem: str, failure: "Failure") -> None:
    private_files.ensure_directory(directory)
    private_files.write_atomically(
        token_cache.file_path(directory, stem, token_cache.FAILURE_SUFFIX), failure.render()
    )
