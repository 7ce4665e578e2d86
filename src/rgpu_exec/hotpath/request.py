"""A token request, validated once: the `token` flags, the namespace ID, the API URL, the
profile, the deadline, and the cache entry they stand for.

Both paths of `rgpu-exec token` call `resolve`: the cache-hit path hands over to the full command
on any refusal, and the full command raises the refusal as a usage error (exit 2). The other
commands check single values with the same functions, so every message is written here once.
Standard library only, and no costly modules: the cache-hit path imports this module.
"""

from rgpu_exec.hotpath import settings, token_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# The flags of `rgpu-exec token`, and the field each fills. The argparse parser of `token`, the
# cache-hit path and the kubeconfig reader (`doctor`, `check`, `kubeconfig`) all use this table.
TOKEN_FLAGS = {
    "--namespace-id": "namespace_id",
    "--namespace": "namespace_name",  # for messages only: the ID decides
    "--api-url": "api_url",
    "--profile": "profile",
}
EXAMPLE_NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
_UUID, _UUID_DASHES, _UUID_LENGTH = frozenset("0123456789abcdef-"), 4, 36  # a UUID's text
# What a profile name may be (`settings.valid_profile`), in words for every message about one.
PROFILE_RULE = "1-64 letters, digits, '.', '_' or '-', not starting with '-'"


def parse_token_flags(args: "Sequence[str]") -> "dict[str, str] | None":
    """The values of `token`'s flags (`--flag value` or `--flag=value`), or None for anything
    else: an unknown or abbreviated flag, a repeated one, a missing value, a stray argument."""
    options: dict[str, str] = {}
    rest = list(args)
    while rest:
        flag, sep, value = rest.pop(0).partition("=")
        if not sep:
            if not rest:
                return None
            value = rest.pop(0)
        name = TOKEN_FLAGS.get(flag)
        if name is None or name in options or not value:
            return None
        options[name] = value
    return options


class ExecRequest:
    """A validated request of kubectl's exec plugin, `rgpu-exec token`'s flags and environment
    checked once (`resolve`): where to ask, for which namespace, whose key, and its cache entry.
    The command builds `usecases.token.TokenRequest` (the flags as given); both paths of `token`
    resolve those flags into this."""

    __slots__ = (
        "_environ", "_key", "api_url", "cache_key", "deadline", "namespace_id",
        "namespace_name", "profile",
    )  # fmt: skip

    def __init__(
        self,
        api_url: str,
        namespace_id: str,
        profile: str,
        deadline: float,
        identity: str,
        *,
        namespace_name: "str | None" = None,
        environ: "Mapping[str, str] | None" = None,
        key: "str | None" = None,
    ) -> None:
        self.api_url = api_url
        self._key = key  # the key from the environment whose fingerprint names the entry
        self._environ = environ or {}
        self.namespace_id = namespace_id
        self.namespace_name = namespace_name
        self.profile = profile
        self.deadline = deadline
        self.cache_key = token_cache.CacheKey(api_url, namespace_id, identity)

    @property
    def needs_secret(self) -> bool:
        # Whether the entry is named by a key's fingerprint, which needs the user's secret
        # (`use_secret`); until it is given, the entry named is one that does not exist.
        return self._key is not None

    def use_secret(self, secret: bytes) -> None:
        # Name the entry with the user's fingerprint secret (`token_cache.read_secret`).
        if self._key is not None:
            identity = token_cache.key_identity(self._key, secret)
            self.cache_key = token_cache.CacheKey(self.api_url, self.namespace_id, identity)

    def exchange_settings(self) -> str:
        """The settings a recorded failure must have failed under to be replayed
        (`settings.exchange_settings`): read only when a failure record is (never on a usual
        hit: a dozen variables cost more than the rest of the lookup), with the key file's
        state (`failures.key_file_state`): a fix of the file takes effect at once."""
        from rgpu_exec.hotpath import failures  # noqa: PLC0415 - loaded: a record is read

        return (
            settings.exchange_settings(self._environ)
            + "\n"
            + failures.key_file_state(self._environ)
        )


def resolve(
    namespace_id: str,
    api_url_flag: "str | None",
    profile_flag: "str | None",
    environ: "Mapping[str, str]",
    namespace_name: "str | None" = None,
    *,
    check_url: bool = True,
) -> "ExecRequest | str":
    """The request, or the message saying what is wrong with it (the first problem found).

    `check_url=False` is for the cache-hit path alone, which only reads the cache: an entry or a
    failure exists only for an API URL the full command accepted (it refuses a URL before it
    exchanges or records anything), so a URL the rules refuse finds nothing there and goes to
    the full command, which refuses it. The URL rules are not loaded on a usual hit."""
    api_url = settings.api_url(api_url_flag, environ)
    problem = api_url_problem(api_url, flag=bool(api_url_flag)) if check_url else None
    if problem:
        return problem
    namespace_id, problem = resolve_namespace_id(namespace_id)
    if problem:
        return problem
    problem = namespace_name_problem(namespace_name)
    if problem:
        return problem
    profile, problem = resolve_profile(profile_flag, environ)
    if problem:
        return problem
    deadline, problem = resolve_deadline(environ)
    if problem:
        return problem
    key = environment_key(profile_flag, environ)
    return ExecRequest(
        api_url,
        namespace_id,
        profile,
        deadline,
        token_cache.identity(key, profile, None),  # a key's: see `use_secret`
        namespace_name=namespace_name,
        environ=environ,
        key=key,
    )


def environment_key(profile_flag: "str | None", environ: "Mapping[str, str]") -> "str | None":
    """The key `REMOTEGPU_API_KEY` gives a request, if any: none when `--profile` names a
    profile, since a flag beats the environment (that profile's keyring key is used, and cached
    under the profile's name); else the variable's value (None when unset)."""
    return None if profile_flag else settings.api_key(environ)


def resolve_api_url(flag: "str | None", environ: "Mapping[str, str]") -> "tuple[str, str | None]":
    """`--api-url` > `REMOTEGPU_API_URL` > the public API; and why it is refused, if it is."""
    url = settings.api_url(flag, environ)
    return url, api_url_problem(url, flag=bool(flag))


def api_url_source(flag: "str | None", environ: "Mapping[str, str]") -> str:
    """Where `resolve_api_url` took the URL from, in words for a message about it."""
    if flag:
        if settings.exec_info(environ) is not None:  # kubectl ran us: the flag is in its file
            return "the --api-url in your kubeconfig's exec args"
        return "--api-url"
    if settings.api_url_from_environment(environ):
        return settings.ENV_API_URL
    return "the default API URL"


def api_url_problem(url: str, *, flag: bool = False) -> "str | None":
    """Why the API URL is refused (`url_rules.url_problem`), with what to do: for a URL that
    lacks only its scheme, the command that sets the URL it likely meant, as it was given
    (`flag`: with --api-url; else in REMOTEGPU_API_URL)."""
    from rgpu_exec.hotpath import url_rules  # noqa: PLC0415 - not needed on a usual cache hit

    problem = url_rules.url_problem(url)
    if problem is None:
        return None
    advice = f"Use an https:// URL (--api-url or {settings.ENV_API_URL})."
    guess = api_url_guess(url)
    if guess is not None:
        advice = f"Did you mean {guess}? {setting_the_api_url(guess, flag=flag)}"
    return f"the API URL {_shown_url(url)!r} {problem}. {advice}"


def api_url_guess(url: str) -> "str | None":
    """The URL a refused one likely meant, when only its scheme is missing (`127.0.0.1:8080`:
    http, a loopback host; `api.remotegpu.ai`: https) and the rules accept it; else None."""
    from rgpu_exec.hotpath import url_rules  # noqa: PLC0415 - not needed on a usual cache hit

    if "://" in url or url_rules.url_problem(url) is None:
        return None
    local = url_rules.is_loopback_host(url_rules.url_host("http://" + url))
    guess = ("http://" if local else "https://") + url
    return guess if url_rules.url_problem(guess) is None else None


def setting_the_api_url(url: str, *, flag: bool) -> str:
    """What sets the API URL to `url` (one the rules accept), as the user gave the wrong one:
    `--api-url URL` on the command line for a flag, else an `export` of REMOTEGPU_API_URL. The
    one builder of this module's printed commands: argv parts joined with `shlex.join`."""
    import shlex  # noqa: PLC0415 - only for a refused URL, never on a cache hit

    if flag:
        return f"Run the command again with `{shlex.join(['--api-url', url])}` in place of yours."
    export = shlex.join(["export", f"{settings.ENV_API_URL}={url}"])
    return f"Set it, then run the command again: `{export}`."


def _shown_url(url: str) -> str:
    """The URL as a message shows it: a user name or password in it, and a query or fragment
    (where a token may travel), are not printed back."""
    scheme, sep, rest = url.partition("://") if "://" in url else ("", "", url)
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = "…@" + authority.rpartition("@")[2]
    path, cut, _ = tail.partition("?")
    path, cut2, _ = path.partition("#")
    return f"{scheme}{sep}{authority}{path}" + ("…" if cut or cut2 else "")


def namespace_label(name: "str | None", namespace_id: "str | None", *, whole: bool = False) -> str:
    """A namespace for people: its name with the start of its ID after it when the name is
    known (`team-ml (6f1c2d4e…)`), else the whole ID. `whole`: the whole ID after the name,
    where the ID is what is wrong (unknown, refused): a typo at its end must show."""
    if name and namespace_id:
        return f"{name} ({namespace_id if whole else namespace_id[:8] + '…'})"
    return namespace_id or name or "?"


def resolve_namespace_id(value: str) -> "tuple[str, str | None]":
    """The ID in lower case (the console may show it in capitals); and why it is refused."""
    namespace_id = value.lower()
    if settings.looks_like_uuid(namespace_id):
        return namespace_id, None
    return namespace_id, (
        f"the value given is not a namespace ID ({_not_a_uuid(value)}). A namespace ID is a UUID "
        f"such as {EXAMPLE_NAMESPACE_ID}: copy the whole ID from the console's namespace page."
    )


def _not_a_uuid(value: str) -> str:
    """What is wrong with a value that is not a UUID, in words: never the value itself (a key
    pasted in the wrong place must not be printed back)."""
    if value.startswith("rgpu_"):  # how every RemoteGPU key starts (redact.KEY_START)
        return "it looks like an API key, not shown: keep keys off command lines"
    if len(value) in {35, 37} and value.count("-") == _UUID_DASHES and set(value.lower()) <= _UUID:
        how = "cut short" if len(value) < _UUID_LENGTH else "with an extra character"
        return f"a guess: it looks like a namespace ID {how}, {len(value)} characters, not 36"
    if settings.valid_namespace_name(value):
        return "it is a namespace name"
    return f"{len(value)} characters, not shown"


def namespace_name_problem(name: "str | None") -> "str | None":
    """Why `token --namespace NAME` is refused, if it is (None: fine, or not given)."""
    if name is None or settings.valid_namespace_name(name):
        return None
    return (
        f"--namespace is not a namespace name (the value, not shown, {_not_a_name(name)}): use "
        "1-63 lower-case letters, digits and '-'. Fix it in the kubeconfig's exec args, or drop "
        "it: it only names the namespace in messages."
    )


def _not_a_name(name: str) -> str:
    """What is wrong with a namespace name, in words: never the value itself."""
    refused = [c for c in name if c != "-" and not settings.valid_namespace_name(c)]
    kinds = {
        "upper-case letters": any(c.isupper() for c in refused),
        "spaces": any(c.isspace() for c in refused),
        "control characters": any(not c.isprintable() and not c.isspace() for c in refused),
        "other characters": any(
            not c.isupper() and c.isprintable() and not c.isspace() for c in refused
        ),
    }
    found = [kind for kind, present in kinds.items() if present]
    if found:
        return "has " + ", ".join(found)
    return f"is {len(name)} characters long, starts or ends with '-', or is 'all'"


def resolve_profile(flag: "str | None", environ: "Mapping[str, str]") -> "tuple[str, str | None]":
    """`--profile` > `RGPU_EXEC_PROFILE` > `default`; and why it is refused, if it is."""
    name = settings.profile(flag, environ)
    if settings.valid_profile(name):
        return name, None
    return name, f"profile name {name!r} is not valid: use {PROFILE_RULE}."


def resolve_deadline(environ: "Mapping[str, str]") -> "tuple[float, str | None]":
    """Seconds an exchange may take, retries included (`RGPU_EXEC_DEADLINE`)."""
    value = settings.deadline(environ)
    if value is not None:
        return value, None
    return settings.DEFAULT_DEADLINE, (
        f"{settings.ENV_DEADLINE} must be a number of seconds between 0.1 and 300 "
        f"(got {settings.raw_deadline(environ)!r}); unset it for the default "
        f"of {settings.DEFAULT_DEADLINE:.0f} s."
    )
