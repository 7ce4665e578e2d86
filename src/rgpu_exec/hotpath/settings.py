"""Where rgpu-exec reads its environment: every environment variable is named and read here.

Standard library only, and no costly modules: the cache-hit path imports this module.
Functions take the environment as an argument (read at call time, never at import time).
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

ENV_API_KEY = "REMOTEGPU_API_KEY"
ENV_API_URL = "REMOTEGPU_API_URL"
ENV_CA_BUNDLE = "REMOTEGPU_CA_BUNDLE"
ENV_PROFILE = "RGPU_EXEC_PROFILE"
ENV_CACHE_DIR = "RGPU_EXEC_CACHE_DIR"
ENV_LOG = "RGPU_EXEC_LOG"
ENV_DEADLINE = "RGPU_EXEC_DEADLINE"
ENV_EXEC_INFO = "KUBERNETES_EXEC_INFO"
ENV_SSL_CERT_FILE = "SSL_CERT_FILE"
ENV_SSL_CERT_DIR = "SSL_CERT_DIR"
# Python (and browsers, curl) write TLS session keys to this file; rgpu-exec never does.
ENV_SSL_KEY_LOG = "SSLKEYLOGFILE"
# Read by the keyring library; login honours a plaintext backend only when it is named here.
ENV_KEYRING_BACKEND = "PYTHON_KEYRING_BACKEND"
# kubectl's own: `check --kubeconfig-context` and `doctor` read kubeconfig and kuberc as it does.
ENV_KUBECONFIG = "KUBECONFIG"
ENV_KUBERC = "KUBERC"
# https://no-color.org: no colour in tables even on a terminal.
ENV_NO_COLOR = "NO_COLOR"
ENV_TERM = "TERM"
ENV_HOME = "HOME"
ENV_SHELL = "SHELL"
ENV_PATH = "PATH"

# The key file of `login --insecure-storage`, in `config_dir` (credentials.file_store).
KEY_FILE_NAME = "api-keys"

DEFAULT_API_URL = "https://api.remotegpu.ai"
DEFAULT_PROFILE = "default"
DEFAULT_DEADLINE = 20.0
MAX_DEADLINE = 300.0
_DEADLINE_RANGE = (0.1, MAX_DEADLINE)
APP_NAME = "rgpu-exec"

_UUID_CHARS = frozenset("0123456789abcdef")
_PROFILE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def api_url(flag: "str | None", environ: "Mapping[str, str]") -> str:
    """`--api-url` > `REMOTEGPU_API_URL` > the public API, as `normal_url` writes it."""
    return normal_url(flag or environ.get(ENV_API_URL, "").strip() or DEFAULT_API_URL)


def normal_url(url: str) -> str:
    """One spelling per API (the cache key follows it): scheme and host lower-cased, as URLs
    compare (RFC 3986, 6.2.2.1), and no trailing slash. `HTTP://LocalHost:8080/` and
    `http://localhost:8080` are one API. The path keeps its case. Without `urllib` (costly)."""
    url = url.rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if authority.isascii():  # a host that is not ASCII is refused by `url_rules` as written
        authority = authority.lower()
    return scheme.lower() + sep + authority + slash + path


def profile(flag: "str | None", environ: "Mapping[str, str]") -> str:
    """`--profile` > `RGPU_EXEC_PROFILE` > `default`."""
    return flag or environ.get(ENV_PROFILE, "").strip() or DEFAULT_PROFILE


def api_key(environ: "Mapping[str, str]") -> "str | None":
    """The key from `REMOTEGPU_API_KEY`, without surrounding whitespace.

    Set but empty counts as unset (a CI secret left blank), so the keyring is tried next.
    """
    return environ.get(ENV_API_KEY, "").strip() or None


def api_key_blank(environ: "Mapping[str, str]") -> bool:
    """`REMOTEGPU_API_KEY` is set, but to nothing (or only spaces): an empty CI secret, say."""
    value = environ.get(ENV_API_KEY)
    return value is not None and not value.strip()


def deadline(environ: "Mapping[str, str]") -> "float | None":
    """`RGPU_EXEC_DEADLINE`: seconds an exchange may take, retries included; None if malformed."""
    raw = environ.get(ENV_DEADLINE, "").strip()
    if not raw:
        return DEFAULT_DEADLINE
    try:
        value = float(raw)
    except ValueError:
        return None
    low, high = _DEADLINE_RANGE
    return value if low <= value <= high else None


def looks_like_uuid(value: str) -> bool:
    """Lower-case hyphenated UUID, checked without `re` (too costly for the cache-hit path)."""
    if len(value) != 36:  # noqa: PLR2004
        return False
    groups = value.split("-")
    return [len(g) for g in groups] == [8, 4, 4, 4, 12] and set(value) - {"-"} <= _UUID_CHARS


_DNS_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_DNS_LABEL_MAX = 63


def valid_namespace_name(name: str) -> bool:
    """A RemoteGPU namespace name: a DNS-1123 label (1-63 of `a-z0-9-`, starting and ending
    alphanumeric), and not `all` (which kubectl reads as every namespace)."""
    return (
        0 < len(name) <= _DNS_LABEL_MAX
        and set(name) <= _DNS_LABEL_CHARS
        and name[0] != "-"
        and name[-1] != "-"
        and name != "all"
    )


def valid_profile(name: str) -> bool:
    """A profile name every command takes back (`request.PROFILE_RULE`): not starting with '-',
    which `token --profile -x` in an exec stanza would read as another flag."""
    return 0 < len(name) <= 64 and set(name) <= _PROFILE_CHARS and name[0] != "-"  # noqa: PLR2004


def cache_dir(environ: "Mapping[str, str]") -> "str | None":
    """`RGPU_EXEC_CACHE_DIR`, else the platform's user cache directory.

    Computed here with the same rules as `platformdirs.user_cache_dir("rgpu-exec")` (a test holds
    the two equal) so that the cache-hit path need not import platformdirs. None on platforms
    whose rules need more than the environment (Windows): callers then ask platformdirs.
    """
    override = environ.get(ENV_CACHE_DIR, "").strip()
    if override:  # a relative path stays relative: `private_files.directory_problem` refuses it
        return os.path.normpath(os.path.expanduser(override))
    return _user_dir(environ, "XDG_CACHE_HOME", ".cache", ("Library", "Caches"))


def config_dir(environ: "Mapping[str, str]") -> "str | None":
    """The user config directory of rgpu-exec (where `login --insecure-storage` keeps its key
    file): the rules of `platformdirs.user_config_dir("rgpu-exec")` on Linux (XDG_CONFIG_HOME,
    else ~/.config) and macOS; None elsewhere (callers then ask platformdirs)."""
    return _user_dir(environ, "XDG_CONFIG_HOME", ".config", ("Library", "Application Support"))


def _user_dir(
    environ: "Mapping[str, str]", xdg_variable: str, xdg_default: str, darwin: "tuple[str, str]"
) -> "str | None":
    """platformdirs' rule for a user directory of rgpu-exec: `~/Library/<darwin…>` on macOS, the
    XDG variable (else `~/<xdg_default>`; a relative one is ignored, as the XDG spec says) on
    Linux and the BSDs, None elsewhere."""
    home = environ.get(ENV_HOME) or os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, *darwin, APP_NAME)
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        # The XDG spec: a relative path in the variable is invalid and must be ignored (the key
        # file would otherwise land under whatever directory the command runs in).
        base = environ.get(xdg_variable, "").strip()
        if not os.path.isabs(base):
            base = os.path.join(home, xdg_default)
        return os.path.join(base, APP_NAME)
    return None


def exec_info(environ: "Mapping[str, str]") -> "str | None":
    """`KUBERNETES_EXEC_INFO` as kubectl set it (None when unset)."""
    return environ.get(ENV_EXEC_INFO)


LOG_LEVELS = ("debug", "info")


def log_level(environ: "Mapping[str, str]") -> str:
    """`RGPU_EXEC_LOG`, lower-cased: `debug`, `info`, or anything else for none."""
    return environ.get(ENV_LOG, "").strip().lower()


def log_warning(environ: "Mapping[str, str]") -> "str | None":
    """The one rule for an `RGPU_EXEC_LOG` that is not a level, on every path (a cache hit or
    not): nothing is logged, the command runs, and this one line says so on stderr. A typo must
    not silently log nothing, nor make kubectl fail only once the cached token runs out."""
    level = log_level(environ)
    if not level or level in LOG_LEVELS:
        return None
    return (
        f"rgpu-exec: warning: {ENV_LOG}={level!r} is not a log level, so nothing is logged: set "
        "it to debug (each step) or info, or unset it.\n"
    )


def debug(environ: "Mapping[str, str]") -> bool:
    return log_level(environ) == "debug"


def raw_deadline(environ: "Mapping[str, str]") -> "str | None":
    """`RGPU_EXEC_DEADLINE` as given, for messages about it."""
    return environ.get(ENV_DEADLINE)


def api_url_from_environment(environ: "Mapping[str, str]") -> bool:
    """Whether `REMOTEGPU_API_URL` chooses the API URL (set and not blank)."""
    return bool(environ.get(ENV_API_URL, "").strip())


def ca_files(environ: "Mapping[str, str]") -> "tuple[str | None, str | None, str | None]":
    """(`SSL_CERT_FILE`, `SSL_CERT_DIR`, `REMOTEGPU_CA_BUNDLE`); blank counts as unset."""
    return (
        environ.get(ENV_SSL_CERT_FILE) or None,
        environ.get(ENV_SSL_CERT_DIR) or None,
        environ.get(ENV_CA_BUNDLE) or None,
    )


def keyring_backend(environ: "Mapping[str, str]") -> str:
    """`PYTHON_KEYRING_BACKEND` (blank when unset)."""
    return environ.get(ENV_KEYRING_BACKEND, "").strip()


def kubeconfig_list(environ: "Mapping[str, str]") -> str:
    """`KUBECONFIG` as given (blank when unset); `kubeconfig.files` applies kubectl's rules."""
    return environ.get(ENV_KUBECONFIG, "")


def kuberc(environ: "Mapping[str, str]") -> str:
    """`KUBERC` (blank when unset)."""
    return environ.get(ENV_KUBERC, "").strip()


def home(environ: "Mapping[str, str]") -> str:
    """`HOME`, else the user's home directory as the OS knows it."""
    return environ.get(ENV_HOME) or os.path.expanduser("~")


# Proxy variables, as httpx (through urllib) reads them for the exchange.
PROXY_VARIABLES = (
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
    "NO_PROXY", "no_proxy",
)  # fmt: skip


def exchange_settings(environ: "Mapping[str, str]") -> str:
    """The settings that can change how an exchange ends, apart from the cache key's (API URL,
    namespace, key or profile): CA files, proxies and the deadline (and, for a request, the key
    file's state, `failures.key_file_state`). A failure recorded under
    other settings is not replayed (`failures.read_failure`): the user may just have fixed
    them. The cache keeps a hash of it, so nothing secret goes in: a proxy URL's user name and
    password are left out (a hash of them would let a copied cache test guesses at them), and a
    changed proxy host, port or scheme still changes it."""
    names = (ENV_SSL_CERT_FILE, ENV_SSL_CERT_DIR, ENV_CA_BUNDLE, ENV_DEADLINE)
    fixed = [f"{name}={environ.get(name, '')}" for name in names]
    proxies = [f"{name}={without_userinfo(environ.get(name, ''))}" for name in PROXY_VARIABLES]
    return "\n".join(fixed + proxies)


def without_userinfo(proxy: str) -> str:
    """A proxy URL (`http://user:password@host:3128`, or without a scheme) without its user
    name and password: `http://host:3128`. NO_PROXY lists have none, and are kept as they are."""
    scheme, sep, rest = proxy.partition("://")
    if not sep:
        scheme, rest = "", proxy
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    return f"{scheme}{sep}{host}{slash}{path}"


def ssl_key_log(environ: "Mapping[str, str]") -> str:
    """`SSLKEYLOGFILE` (blank when unset)."""
    return environ.get(ENV_SSL_KEY_LOG, "").strip()


def login_shell(environ: "Mapping[str, str]") -> str:
    """`SHELL`: the user's login shell, as a path (`/bin/zsh`); empty when unset."""
    return environ.get(ENV_SHELL, "").strip()


def search_path(environ: "Mapping[str, str]") -> str:
    """`PATH`, as a command lookup uses it."""
    return environ.get(ENV_PATH, os.defpath)


def colour_wanted(environ: "Mapping[str, str]") -> bool:
    """False with `NO_COLOR` set (https://no-color.org) or `TERM=dumb`."""
    return not environ.get(ENV_NO_COLOR) and environ.get(ENV_TERM) != "dumb"
