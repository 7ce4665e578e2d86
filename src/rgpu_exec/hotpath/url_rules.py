"""The rules for an API URL, standard library only (the cache-hit path checks URLs too).

A URL the plugin sends a key to must read the same way to every HTTP client: ASCII,
`scheme://host[:port][/path]`, https (plain http to a loopback host only). `ipaddress` is
imported only for a host that looks like an IP address and is not an obvious loopback one.
"""

# Loopback hosts answered without `ipaddress`; `is_loopback_host` knows the others.
_LOOPBACK_HOSTS = frozenset({"localhost", "[::1]"})
_IPV4_OCTETS = 4
_OCTET_MAX = 255
_IPV4_CHARS = frozenset("0123456789.")
_IPV6_CHARS = frozenset("0123456789abcdef:.")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
_HOST_MAX = 253
_PORT_MAX = 65535


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


def url_problem(url: str) -> "str | None":
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


def _name_problem(host: str) -> "str | None":
    if not host:
        return "has no host"
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not set(host) <= _HOST_CHARS or "" in labels or len(host) > _HOST_MAX:
        return f"has the host {host!r}, which is not a host name or IPv4 address"
    return None


def _ipv6_problem(host: str) -> "str | None":
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


_DEFAULT_PORTS = {"https": ":443", "http": ":80"}


def same_url(first: str, second: str) -> bool:
    """Whether two URLs name one endpoint: the scheme and host in any case, the scheme's default
    port written or not, a trailing slash or not (`HTTPS://K8s.example:443/` is
    `https://k8s.example`). The one rule for "this URL is that one"."""
    return _comparable(first) == _comparable(second)


def _comparable(url: str) -> str:
    scheme, sep, rest = url.strip().rstrip("/").partition("://")
    if not sep:
        return url
    scheme = scheme.lower()
    authority, slash, path = rest.partition("/")
    authority = authority.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default and authority.endswith(default):
        authority = authority.removesuffix(default)
    return f"{scheme}://{authority}{slash}{path}"
