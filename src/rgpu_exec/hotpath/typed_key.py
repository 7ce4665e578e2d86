"""A key typed at the prompt is asked for once per kubectl command, and never kept.

A typed key's token is cached under the key's fingerprint (`token_cache.key_identity`), which no
later run can name without the key: so each run of the plugin would prompt. kubectl runs it once
per command, but a dispatcher runs it twice in one: gcloud's `kubectl` asks the server for its
version with the plugin's token, then execs the versioned kubectl in the same process, which runs
the plugin again. So the run that was given a typed key leaves a note for the process it answered
(its parent, the kubectl command), beside the entry the request names without a key (the
profile's):

    <stem>.typed    0600, written atomically: the client's process ID, the fingerprint identity
                    that names the typed key's entry, and when. Never the key, nor anything from
                    which it could be tested without the user's fingerprint secret (the entry
                    file itself holds the same identity).

For `TYPED_WINDOW` seconds the same client asking for the same request (API URL, namespace,
profile: the stem) is answered from that entry without a prompt, by the rules of a second ask
(`second_ask`): the same token only while it is fresh and the cluster does not reject it. A new
kubectl command is a new parent, and is asked for the key again. Not on the cache-hit path: the
full command reads the note when it would otherwise prompt. Standard library only.
"""

from rgpu_exec.hotpath import private_files, token_cache

TYPED_MAGIC = "rgpu-exec-typed 1"
TYPED_FIELDS = ("client", "identity", "at")
# How long after a key was typed the same kubectl process may be answered without it: a
# dispatcher's second run follows the first within seconds; a recycled process ID of an
# unrelated client has this long to be mistaken for it.
TYPED_WINDOW = 60.0
_HEX = frozenset("0123456789abcdef")


def note(directory: str, stem: str, client: int, identity: str, now: float) -> None:
    """Record that `client` was given the token of the typed key named by `identity` (a hint:
    a failure to write only means the next run of that command asks for the key again)."""
    if not _is_fingerprint(identity):
        return
    private_files.write_hint(
        token_cache.file_path(directory, stem, token_cache.TYPED_SUFFIX),
        f"{TYPED_MAGIC}\nclient {client}\nidentity {identity}\nat {now!r}\n",
    )


def granted(directory: str, stem: str, client: int, now: float) -> "str | None":
    """The identity of the key typed for `client` within TYPED_WINDOW, or None."""
    text = private_files.read_private(
        token_cache.file_path(directory, stem, token_cache.TYPED_SUFFIX)
    )
    lines = (text or "").split("\n")
    if len(lines) != len(TYPED_FIELDS) + 2 or lines[0] != TYPED_MAGIC or lines[-1]:
        return None
    values = {}
    for line, name in zip(lines[1:-1], TYPED_FIELDS, strict=True):
        field, _, value = line.partition(" ")
        if field != name:
            return None
        values[name] = value
    try:
        at = float(values["at"])
    except ValueError:
        return None
    identity = values["identity"]
    if values["client"] != str(client) or not _is_fingerprint(identity):
        return None
    return identity if at <= now < at + TYPED_WINDOW else None


def _is_fingerprint(identity: str) -> bool:
    digest = identity.removeprefix(token_cache.KEY_IDENTITY)
    return digest != identity and len(digest) == 64 and set(digest) <= _HEX  # noqa: PLR2004
