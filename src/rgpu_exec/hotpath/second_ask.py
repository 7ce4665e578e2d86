"""A second ask from the same client: the token it was given was rejected, so give a new one.

kubectl (client-go) keeps a credential in memory for the life of its process, and runs the plugin
again in that process only once the expiry it was told has passed, or after the API server
answered 401 to a request made with it. So when the same parent process asks again for an entry
that is still fresh (the expiry it was told is at least `KUBECTL_EXPIRY_SLACK` away), the cluster
rejected the token: answering it again would fail again, until the refresh point. Instead the
entry is replaced by a new exchange. That kubectl command still fails (client-go returns the
401); the next one gets the new token from the cache. Long-running client-go programs (k9s,
Lens, helm) follow the same rule.

The official Python client runs the plugin once less than 5 minutes remain before the expiry it
was told, and then before every request until it is told a later one. Its second ask gets a
newer token than the one it holds, so it stops asking: about one exchange per 10 minutes with
15-minute tokens, instead of a plugin run before every request.

Only a client that speaks the exec protocol is judged this way (`KUBERNETES_EXEC_INFO` is set,
as kubectl and the Python client set it): a script or a person running `rgpu-exec token` twice
from one shell gets the cached token twice.

Files beside the entry (named by `token_cache`, 0600):
    <stem>.served   the token's issue and expiry times, then one line per parent process ID it
                    was given to. Written atomically (no fsync: losing it costs one missed
                    hint) for each new token, then appended to: on a hit, one open, one small
                    read and one small write. Past `_COMPACT_AT` bytes it is written again with
                    the last `MAX_CLIENTS` clients.
    <stem>.forced   when the entry's last forced refresh began, written atomically. At most one
                    per `FORCE_WINDOW`: a cluster that rejects every token causes no exchange
                    storm.
    <stem>.accepted which token a cluster said it still accepts, which cluster said so, and
                    when: the SHA-256 of the exec info that named the cluster (`spec.cluster`:
                    its server, CA, proxy), so a yes from one server never answers for another.
A process ID recycled by an unrelated process costs at worst one needless exchange (and none
within the window). Standard library only: the cache-hit path imports this module.
"""

import os

from rgpu_exec.hotpath import private_files, settings, token_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

SERVED_MAGIC = "rgpu-exec-served 1"
FORCED_MAGIC = "rgpu-exec-forced 1"
# The lines after the first: `token <issued_at> <expires_at>` then one client per line; `at <time>`.
SERVED_FIELDS = ("token",)
FORCED_FIELDS = ("at",)
ACCEPTED_MAGIC = "rgpu-exec-accepted 2"
ACCEPTED_FIELDS = ("token", "cluster", "at")
# At most one forced refresh per entry within this many seconds.
FORCE_WINDOW = 30.0
# How long the cluster's "it still accepts this token" answers a second ask without asking it
# again: at most one question per window for a program that reloads its kubeconfig every few
# seconds, and a token rejected meanwhile is replaced at most this late.
ACCEPTED_WINDOW = 10.0
# The official Python client runs the plugin again once less than this is left before the expiry
# it was told (its EXPIRY_SKEW_PREVENTION_DELAY: 300 s), before every request until it gets a
# later one; plus a little, since the expiry it reads is written in whole seconds and clocks
# tick apart.
CLIENT_EXPIRY_MARGIN = 300.0 + 5.0
# The parent processes kept per token when the record is written again (the most recent ones),
# and the size at which an appended record is written again.
MAX_CLIENTS = 32
_COMPACT_AT = 1024
_OPEN_TO_APPEND = os.O_RDWR | os.O_APPEND | private_files.SAFE_OPEN_FLAGS


def client(environ: "Mapping[str, str]") -> "int | None":
    """The client process to judge: our parent, when it speaks the exec protocol; else None.

    PID 1 (an orphaned plugin, or kubectl as a container's first process) is never judged.
    """
    if not (settings.exec_info(environ) or "").strip():
        return None
    parent = os.getppid()
    return parent if parent > 1 else None


def asked_again(
    directory: str, entry: "token_cache.Entry", client: "int | None", now: float
) -> bool:
    """Whether to replace the fresh `entry` with a new exchange: `client` asks again for the
    token it was already given, and no forced refresh of the entry began within FORCE_WINDOW.

    Otherwise (False) the caller answers with `entry`, and `client` is remembered as given it.
    """
    if client is None or not entry.fresh(now):
        return False
    if not _remember(directory, entry, str(client)):
        return False
    return not _forced_recently(directory, entry.key.stem, now)


def note(directory: str, entry: "token_cache.Entry", client: "int | None", now: float) -> None:
    """Remember that `client` was given `entry`, without judging the ask (a new token, or one
    written while this process waited for the entry's lock: the client could not hold it)."""
    if client is not None and entry.fresh(now):
        _remember(directory, entry, str(client))


def begin_forced_refresh(directory: str, stem: str, now: float) -> None:
    """Record that a forced refresh of the entry begins now (whether it succeeds or not)."""
    private_files.write_hint(
        token_cache.file_path(directory, stem, token_cache.FORCED_SUFFIX),
        f"{FORCED_MAGIC}\nat {now!r}\n",
    )


def wants_later_expiry(entry: "token_cache.Entry", now: float) -> bool:
    """Whether a client asking again may simply want a token that expires later: the expiry it
    was told is within CLIENT_EXPIRY_MARGIN (the Python client's rule). It then gets a new
    token, whatever the cluster thinks of the old one: the same token would make it ask again
    before every request (a run storm)."""
    return entry.kubectl_expiry(now) - now <= CLIENT_EXPIRY_MARGIN


def kept(entry: "token_cache.Entry", now: float, accepts: "Callable[[], bool | None]") -> bool:
    """The second-ask gate, for both paths of `token`: whether a client asking again for the
    fresh `entry` gets the same token again, instead of a new one.

    Never when it may want a later expiry (`wants_later_expiry`); otherwise only on the
    cluster's word, `accepts` (the hit path: a yes `accepted_recently`; the full command: the
    cluster asked now). `accepts` is not called when the expiry alone decides; None (the cluster
    cannot tell) counts as no.
    """
    return not wants_later_expiry(entry, now) and accepts() is True


def accepted_recently(
    directory: str, entry: "token_cache.Entry", now: float, exec_info: "str | None"
) -> bool:
    """Whether the cluster named in `exec_info` (KUBERNETES_EXEC_INFO as this run got it) said,
    within ACCEPTED_WINDOW, that it still accepts `entry`'s token (`note_accepted`): a second ask
    is then answered with it, without asking the cluster again. This bounds the questions a
    client that reloads its kubeconfig every few seconds causes to one per window, and delays
    healing by at most the window for a token rejected meanwhile. Another cluster's yes (another
    server, CA or proxy in the exec info), or none named, never counts."""
    cluster = _cluster_line(exec_info)
    if cluster is None:
        return False
    path = token_cache.file_path(directory, entry.key.stem, token_cache.ACCEPTED_SUFFIX)
    lines = (private_files.read_private(path) or "").split("\n")
    if (
        len(lines) != 5  # noqa: PLR2004
        or lines[0] != ACCEPTED_MAGIC
        or lines[1] != _token_line(entry)
        or lines[2] != cluster
    ):
        return False
    try:
        at = float(lines[3].removeprefix("at "))
    except ValueError:
        return False
    return lines[3].startswith("at ") and at <= now < at + ACCEPTED_WINDOW


def note_accepted(
    directory: str, entry: "token_cache.Entry", now: float, exec_info: "str | None"
) -> None:
    """Record that the cluster named in `exec_info` accepts `entry`'s token now (a hint: a
    failure to write is ignored; nothing is recorded without a cluster named)."""
    cluster = _cluster_line(exec_info)
    if cluster is None:
        return
    private_files.write_hint(
        token_cache.file_path(directory, entry.key.stem, token_cache.ACCEPTED_SUFFIX),
        f"{ACCEPTED_MAGIC}\n{_token_line(entry)}\n{cluster}\nat {now!r}\n",
    )


def _cluster_line(exec_info: "str | None") -> "str | None":
    # The exec info names the cluster kubectl sends the token to (`spec.cluster`, with
    # provideClusterInfo): its digest stands for that cluster, whatever the JSON's form, without
    # parsing it here. Only asked on a second ask, never on a usual hit.
    text = (exec_info or "").strip(" \t\n\r")
    if not text:
        return None
    return "cluster " + token_cache.sha256_hex(text.encode("utf-8", "surrogatepass"))


def _token_line(entry: "token_cache.Entry") -> str:
    # An entry's issue and expiry times name its token: both change with every exchange.
    return f"token {entry.issued_at!r} {entry.expires_at!r}"


def _remember(directory: str, entry: "token_cache.Entry", client: str) -> bool:
    """Whether `client` was already given `entry`'s token; if not, it is remembered now.

    A record that is missing, not ours, for another token or too long is written again; a
    failure to write is ignored (a hint only: the answer stands without it)."""
    path = token_cache.file_path(directory, entry.key.stem, token_cache.SERVED_SUFFIX)
    header = f"{SERVED_MAGIC}\n{_token_line(entry)}\n"
    clients: list[str] = []
    try:
        fd = os.open(path, _OPEN_TO_APPEND)
    except OSError:
        fd = -1
    if fd >= 0:
        try:
            text = private_files.read_private_fd(fd)
            if text is not None and text.startswith(header):
                clients = text[len(header) :].split("\n")
                if client in clients:
                    return True
                if len(text) < _COMPACT_AT:
                    os.write(fd, f"{client}\n".encode())  # O_APPEND: one small atomic write
                    return False
        except OSError:
            return False
        finally:
            os.close(fd)
    kept = [pid for pid in clients if pid.isdigit()][1 - MAX_CLIENTS :]
    text = header + "".join(f"{pid}\n" for pid in [*kept, client])
    private_files.write_hint(path, text)
    return False


def _forced_recently(directory: str, stem: str, now: float) -> bool:
    text = private_files.read_private(
        token_cache.file_path(directory, stem, token_cache.FORCED_SUFFIX)
    )
    lines = (text or "").split("\n")
    if len(lines) != 3 or lines[0] != FORCED_MAGIC or not lines[1].startswith("at "):  # noqa: PLR2004
        return False
    try:
        began = float(lines[1][3:])
    except ValueError:
        return False
    return began <= now < began + FORCE_WINDOW
