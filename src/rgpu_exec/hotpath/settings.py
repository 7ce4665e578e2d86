"""Where rgpu-exec reads its environment: every environment variable is named and read here.

Standard library only, and no costly modules: the cache-hit path imports this module.
Functions take the environment as an argument (read at call time, never at import time).
"""

from __future__ import annotations

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

DEFAULT_API_URL = "https://api.remotegpu.ai"
DEFAULT_PROFILE = "default"
DEFAULT_DEADLINE = 20.0
_DEADLINE_RANGE = (0.1, 300.0)
APP_NAME = "rgpu-exec"

# Loopback hosts answered without `ipaddress`; `is_loopback_host` knows the others.
_LOOPBACK_HOSTS = frozenset({"localhost", "[::1]"})
_IPV4_OCTETS = 4
_OCTET_MAX = 255
_IPV4_CHARS = frozenset("0123456789.")
_IPV6_CHARS = frozenset("0123456789abcdef:.")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
_HOST_MAX = 253
_PORT_MAX = 65535
_UUID_CHARS = frozenset("0123456789abcdef")
_PROFILE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def api_url(flag: str | None, environ: Mapping[str, str]) -> str:
    """`--api-url` > `REMOTEGPU_API_URL` > the public API; without a trailing slash."""
    url = flag or environ.get(ENV_API_URL, "").strip() or DEFAULT_API_URL
    return url.rstrip("/")


def profile(flag: str | None, environ: Mapping[str, str]) -> str:
    """`--profile` > `RGPU_EXEC_PROFILE` > `default`."""
    return flag or environ.get(ENV_PROFILE, "").strip() or DEFAULT_PROFILE


def api_key(environ: Mapping[str, str]) -> str | None:
    """The key from `REMOTEGPU_API_KEY`, without surrounding whitespace.

    Set but empty counts as unset (a CI secret left blank), so the keyring is tried next.
    """
    return environ.get(ENV_API_KEY, "").strip() or None


def deadline(environ: Mapping[str, str]) -> float | None:
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


def url_host(url: str) -> str:
    """The host of an http(s) URL, lower-cased, without port or credentials; IPv6 in brackets."""
    host = _authority(url).rpartition("@")[2]
    if host.startswith("["):
        return host.split("]", 1)[0].lower() + "]"
    return host.split(":", 1)[0].lower()


def is_loopback_host(host: str) -> bool:
    """Whether a host (as `url_host` gives it) is this machine: `localhost`, an IPv4 address in
    127.0.0.0/8 or `[::1]`, as `ipaddress` reads them. ASCII only: digits of other scripts, which
    `str.isdigit()` accepts, make no address."""
    if host in _LOOPBACK_HOSTS or _is_127_dotted_quad(host):  # without importing ipaddress
        return True
    if not host.isascii():
        return False
    bracketed = host.startswith("[") and host.endswith("]")
    if not bracketed and not set(host) <= _IPV4_CHARS:
        return False  # a name: only `localhost` is known to be this machine
    import ipaddress  # noqa: PLC0415 - costly: only for rare hosts, never on a usual cache hit

    try:
        if bracketed:
            return ipaddress.IPv6Address(host[1:-1]) == ipaddress.IPv6Address("::1")
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


def _is_127_dotted_quad(host: str) -> bool:
    """127.x.y.z written as `ipaddress` accepts it (ASCII decimal, no leading zeros): a cheap
    answer for the usual loopback addresses; a test holds it to agree with `ipaddress`."""
    octets = host.split(".")
    return (
        len(octets) == _IPV4_OCTETS
        and octets[0] == "127"
        and all(
            _is_decimal(o, 3) and (o == "0" or o[0] != "0") and int(o) <= _OCTET_MAX for o in octets
        )
    )


def _is_decimal(text: str, most: int) -> bool:
    """1 to `most` ASCII digits (`str.isdigit()` alone also accepts `²` and `१`)."""
    return 0 < len(text) <= most and text.isascii() and text.isdigit()


def url_problem(url: str) -> str | None:
    """Why this API URL is refused, or None when it is fine (the one owner of the URL rules).

    A key must never travel in clear: plain http is only allowed to a loopback address. The URL
    must be one that every HTTP client reads the same way: ASCII, `scheme://host[:port][/path]`,
    no credentials, query or fragment, a host name or IP address, a port from 1 to 65535.
    """
    if not url.isascii():
        return "has characters that are not ASCII (write an international host name as xn--…)"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):  # noqa: PLR2004
        return "contains whitespace or control characters"
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return "is not an http(s) URL"
    if "?" in url or "#" in url:
        return "has a query or a fragment (give the API's base URL only)"
    authority = _authority(url)
    if "@" in authority:
        return "has a user name or password in it (the API key is the only credential sent)"
    if authority.startswith("["):
        host, close, rest = authority.partition("]")
        host += close
        if rest and not rest.startswith(":"):
            return f"has {rest!r} after the IPv6 address {host} (only ':' and a port may follow)"
        colon, port = rest[:1], rest[1:]
        problem = _ipv6_problem(host)
    else:
        host, colon, port = authority.partition(":")
        problem = _name_problem(host.lower())
    if problem:
        return problem
    if colon and not (_is_decimal(port, 5) and 0 < int(port) <= _PORT_MAX):
        return f"has the port {port!r}, which is not a number from 1 to {_PORT_MAX}"
    if scheme.lower() == "http" and not is_loopback_host(url_host(url)):
        return "uses plain http to a non-loopback host (the API key would travel in clear)"
    return None


def _authority(url: str) -> str:
    """What comes between `scheme://` and the path, query or fragment."""
    rest = url.partition("://")[2]
    for end in "/?#":
        rest = rest.split(end, 1)[0]
    return rest


def _name_problem(host: str) -> str | None:
    if not host:
        return "has no host"
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not set(host) <= _HOST_CHARS or "" in labels or len(host) > _HOST_MAX:
        return f"has the host {host!r}, which is not a host name or IPv4 address"
    return None


def _ipv6_problem(host: str) -> str | None:
    if host == "[::1]":
        return None
    inner = host[1:-1]
    if not host.endswith("]") or not inner or not set(inner.lower()) <= _IPV6_CHARS:
        return f"has the host {host!r}, which is not an IPv6 address in brackets"
    import ipaddress  # noqa: PLC0415 - costly: only for IPv6 hosts other than [::1]

    try:
        ipaddress.IPv6Address(inner)
    except ValueError:
        return f"has the host {host!r}, which is not an IPv6 address in brackets"
    return None


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
    return 0 < len(name) <= 64 and set(name) <= _PROFILE_CHARS  # noqa: PLR2004


def cache_dir(environ: Mapping[str, str]) -> str | None:
    """`RGPU_EXEC_CACHE_DIR`, else the platform's user cache directory.

    Computed here with the same rules as `platformdirs.user_cache_dir("rgpu-exec")` (a test holds
    the two equal) so that the cache-hit path need not import platformdirs. None on platforms
    whose rules need more than the environment (Windows): callers then ask platformdirs.
    """
    override = environ.get(ENV_CACHE_DIR, "").strip()
    if override:
        return os.path.abspath(os.path.expanduser(override))
    home = environ.get(ENV_HOME) or os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", APP_NAME)
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        base = environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(home, ".cache")
        return os.path.join(base, APP_NAME)
    return None


def exec_info(environ: Mapping[str, str]) -> str | None:
    """`KUBERNETES_EXEC_INFO` as kubectl set it (None when unset)."""
    return environ.get(ENV_EXEC_INFO)


def log_level(environ: Mapping[str, str]) -> str:
    """`RGPU_EXEC_LOG`, lower-cased: `debug`, `info`, or anything else for none."""
    return environ.get(ENV_LOG, "").strip().lower()


def debug(environ: Mapping[str, str]) -> bool:
    return log_level(environ) == "debug"


def raw_deadline(environ: Mapping[str, str]) -> str | None:
    """`RGPU_EXEC_DEADLINE` as given, for messages about it."""
    return environ.get(ENV_DEADLINE)


def api_url_from_environment(environ: Mapping[str, str]) -> bool:
    """Whether `REMOTEGPU_API_URL` chooses the API URL (set and not blank)."""
    return bool(environ.get(ENV_API_URL, "").strip())


def ca_files(environ: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """(`SSL_CERT_FILE`, `SSL_CERT_DIR`, `REMOTEGPU_CA_BUNDLE`); blank counts as unset."""
    return (
        environ.get(ENV_SSL_CERT_FILE) or None,
        environ.get(ENV_SSL_CERT_DIR) or None,
        environ.get(ENV_CA_BUNDLE) or None,
    )


def keyring_backend(environ: Mapping[str, str]) -> str:
    """`PYTHON_KEYRING_BACKEND` (blank when unset)."""
    return environ.get(ENV_KEYRING_BACKEND, "").strip()


def kubeconfig_list(environ: Mapping[str, str]) -> str:
    """`KUBECONFIG` as given (blank when unset); `kubeconfig.files` applies kubectl's rules."""
    return environ.get(ENV_KUBECONFIG, "")


def kuberc(environ: Mapping[str, str]) -> str:
    """`KUBERC` (blank when unset)."""
    return environ.get(ENV_KUBERC, "").strip()


def home(environ: Mapping[str, str]) -> str:
    """`HOME`, else the user's home directory as the OS knows it."""
    return environ.get(ENV_HOME) or os.path.expanduser("~")


# Proxy variables, as httpx (through urllib) reads them for the exchange.
PROXY_VARIABLES = (
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
    "NO_PROXY", "no_proxy",
)  # fmt: skip


def exchange_settings(environ: Mapping[str, str]) -> str:
    """The settings that can change how an exchange ends, apart from the cache key's (API URL,
    namespace, key or profile): CA files, proxies and the deadline. A failure recorded under
    other settings is not replayed (`token_cache.read_failure`): the user may just have fixed
    them. Not shown anywhere (a proxy URL may hold a password): the cache keeps a hash of it."""
    names = (ENV_SSL_CERT_FILE, ENV_SSL_CERT_DIR, ENV_CA_BUNDLE, ENV_DEADLINE, *PROXY_VARIABLES)
    return "\n".join(f"{name}={environ.get(name, '')}" for name in names)


def login_shell(environ: Mapping[str, str]) -> str:
    """`SHELL`: the user's login shell, as a path (`/bin/zsh`); empty when unset."""
    return environ.get(ENV_SHELL, "").strip()


def search_path(environ: Mapping[str, str]) -> str:
    """`PATH`, as a command lookup uses it."""
    return environ.get(ENV_PATH, os.defpath)


def colour_wanted(environ: Mapping[str, str]) -> bool:
    """False with `NO_COLOR` set (https://no-color.org) or `TERM=dumb`."""
    return not environ.get(ENV_NO_COLOR) and environ.get(ENV_TERM) != "dumb"
