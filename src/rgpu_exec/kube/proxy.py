"""Which proxy kubectl goes through to reach a cluster, so that the cluster question goes the same
way (and the token goes nowhere kubectl would not send it).

client-go uses the cluster's `proxy-url` when the kubeconfig sets one, for every request
(`http.ProxyURL`: loopback too). Otherwise Go's `http.ProxyFromEnvironment`
(golang.org/x/net/http/httpproxy), which this module follows:
- an https server goes through HTTPS_PROXY (else https_proxy: the first that is not empty), an
  http one through HTTP_PROXY (else http_proxy); ALL_PROXY is never read;
- never for `localhost` or a loopback IP, whatever NO_PROXY says;
- NO_PROXY (else no_proxy): comma-separated; `*` for every host; an IP, or a CIDR block; a
  domain name, which matches itself and its subdomains (`.example.com` and `*.example.com` the
  subdomains only); an IP or a name may carry a port, and then matches that port only;
- a proxy value without a scheme (`proxy:3128`) is `http://proxy:3128`.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

_PROXY_SCHEMES = ("http", "https", "socks5")
_DEFAULT_PORTS = {"https": "443", "http": "80"}


def cluster_proxy(server: str, proxy_url: str | None, environ: Mapping[str, str]) -> str | None:
    """The proxy URL kubectl would use for `server`, or None for a direct connection."""
    if proxy_url:
        return _proxy(proxy_url)
    try:
        parts = urlsplit(server)
        port = str(parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), ""))
    except ValueError:
        return None  # a server no request can reach: it fails without any proxy
    scheme = parts.scheme.lower()
    names = ("HTTPS_PROXY", "https_proxy") if scheme == "https" else ("HTTP_PROXY", "http_proxy")
    proxy = _first(environ, names)
    if scheme not in _DEFAULT_PORTS or not proxy:
        return None
    host = (parts.hostname or "").strip().lower()
    if _bypassed(host, port, _first(environ, ("NO_PROXY", "no_proxy"))):
        return None
    return _proxy(proxy)


def _first(environ: Mapping[str, str], names: tuple[str, str]) -> str:
    return next((environ[name] for name in names if environ.get(name)), "")


def _proxy(value: str) -> str:
    """A proxy URL as Go reads it: without a scheme Go knows, `http://` is put in front."""
    scheme, sep, _ = value.partition("://")
    return value if sep and scheme.lower() in _PROXY_SCHEMES else f"http://{value}"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _bypassed(host: str, port: str, no_proxy: str) -> bool:
    """Whether Go connects to `host`:`port` directly (localhost, loopback, NO_PROXY)."""
    ip = _ip(host)
    if host == "localhost" or (ip is not None and ip.is_loopback):
        return True
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        if not entry:
            continue
        if "/" in entry:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                network = None
            if network is not None:
                if ip is not None and ip in network:
                    return True
                continue
        name, wanted_port = _split_host_port(entry)
        if not name:
            continue
        named_ip = _ip(name)
        if named_ip is not None:
            if ip is not None and ip == named_ip and wanted_port in ("", port):
                return True
            continue
        if _domain_matches(host, name) and wanted_port in ("", port):
            return True
    return False


def _split_host_port(entry: str) -> tuple[str, str]:
    """(host, port) of `host:port` or `[v6]:port`; (entry, "") when it carries no port."""
    if entry.startswith("["):
        inside, bracket, rest = entry[1:].partition("]")
        if bracket and rest.startswith(":") and rest[1:].isdigit():
            return inside, rest[1:]
        return entry, ""
    name, colon, port = entry.rpartition(":")
    if colon and ":" not in name and port.isdigit():
        return name, port
    return entry, ""


def _domain_matches(host: str, name: str) -> bool:
    """`example.com` matches itself and its subdomains; `.example.com` and `*.example.com` only
    the subdomains."""
    name = name[1:] if name.startswith("*.") else name
    if name.startswith("."):
        return host.endswith(name)
    return host == name or host.endswith("." + name)
