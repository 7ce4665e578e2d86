"""The API URL rules (`url_rules.url_problem`, the one owner): ASCII only, loopback by `ipaddress`,
and every URL it lets through read the same way by httpx; malformed ones refused, never crashed on.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys

import httpx
import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from rgpu_exec.hotpath import request, url_rules

from conftest import examples


@pytest.mark.parametrize(
    ("url", "words"),
    [
        pytest.param("http://localhost:abc", "port 'abc'", id="port-not-a-number"),
        pytest.param("http://localhost:99999", "port '99999'", id="port-over-65535"),
        pytest.param("http://127.0.0.1:65536", "port '65536'", id="port-65536"),
        pytest.param("http://127.0.0.1:0", "port '0'", id="port-0"),
        pytest.param("http://localhost:", "port ''", id="port-empty"),
        pytest.param("http://localhost:8080:1", "port '8080:1'", id="two-ports"),
        pytest.param("http://127.0.0.1:\u0968\u0966", "not ASCII", id="port-devanagari"),
        pytest.param("http://127.0.0.1:\u00b2", "not ASCII", id="port-superscript"),
        pytest.param("http://[::1]evil.com", "after the IPv6 address", id="text-after-ipv6"),
        pytest.param("http://[::1", "not an IPv6 address", id="unclosed-bracket"),
        pytest.param("https://[zz]", "not an IPv6 address", id="bracketed-nonsense"),
        pytest.param("https://[]", "not an IPv6 address", id="empty-brackets"),
        pytest.param("https://[fe80::1%25eth0]", "not an IPv6 address", id="zone-id"),
        pytest.param("http://:80", "has no host", id="empty-host"),
        pytest.param("https://", "has no host", id="nothing-after-scheme"),
        pytest.param("https:///v1", "has no host", id="path-only"),
        pytest.param("https://a..b", "host 'a..b'", id="empty-label"),
        pytest.param("https://.example", "host '.example'", id="leading-dot"),
        pytest.param("https://a\\b.example", "not a host name", id="backslash"),
        pytest.param("https://api!.example", "not a host name", id="punctuation"),
        pytest.param("http://127.\u0966.\u0966.\u0967", "not ASCII", id="devanagari-digits"),
        pytest.param("https://b\u00fccher.example", "xn--", id="unicode-host"),
        pytest.param("https://api.example/\u00e9", "not ASCII", id="unicode-path"),
        pytest.param("https://user:pw@api.example", "user name or password", id="credentials"),
        pytest.param("http://127.0.0.1@evil.example", "user name or password", id="at-sign"),
        pytest.param("https://api.example?x=1", "query or a fragment", id="query"),
        pytest.param("https://api.example/#top", "query or a fragment", id="fragment"),
        pytest.param("https://api.example/\n", "whitespace", id="newline"),
        pytest.param("https://api.example/\x7f", "control", id="delete"),
        pytest.param("ftp://127.0.0.1", "not an http(s) URL", id="ftp"),
        pytest.param("api.remotegpu.ai", "not an http(s) URL", id="no-scheme"),
        pytest.param("http://api.remotegpu.ai", "plain http", id="plain-http-remote"),
        pytest.param("http://127.000.0.1", "plain http", id="leading-zeros"),
        pytest.param("http://127.1", "plain http", id="short-form"),
        pytest.param("http://0177.0.0.1", "plain http", id="octal"),
        pytest.param("http://2130706433", "plain http", id="integer-form"),
        pytest.param("http://[::ffff:127.0.0.1]", "plain http", id="ipv4-mapped"),
        pytest.param("http://[::2]", "plain http", id="not-loopback-v6"),
        pytest.param("http://localhost.", "plain http", id="localhost-trailing-dot"),
        pytest.param("http://127.0.0.1.evil.example", "plain http", id="loopback-prefix"),
    ],
)
def test_malformed_and_unsafe_urls_are_refused_with_the_reason(url: str, words: str) -> None:
    problem = url_rules.url_problem(url)
    assert problem is not None
    assert words in problem


@pytest.mark.parametrize(
    "url",
    [
        "https://api.remotegpu.ai",
        "https://api.remotegpu.ai/",
        "https://API.RemoteGPU.ai:443/base/path",
        "https://10.1.2.3:8443/base",
        "https://[2001:db8::1]:8443",
        "https://api.remotegpu.ai.",
        "https://xn--bcher-kva.example",
        "https://a_b.internal",
        "https://api.example/%7Euser",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://127.255.255.254:65535",
        "http://localhost:1234/",
        "HTTP://LOCALHOST",
        "http://[::1]:99",
        "http://[0:0:0:0:0:0:0:1]",
    ],
)
def test_well_formed_urls_are_accepted(url: str) -> None:
    assert url_rules.url_problem(url) is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.0.0.0", True),
        ("127.255.255.255", True),
        ("127.1.2.3", True),
        ("[::1]", True),
        ("[0::1]", True),
        ("128.0.0.1", False),
        ("126.255.255.255", False),
        ("127.0.0.256", False),
        ("127.0.0.01", False),
        ("127.0.0", False),
        ("127.0.0.1.1", False),
        ("127.0.0.", False),
        ("::1", False),
        ("[::2]", False),
        ("[::ffff:127.0.0.1]", False),
        ("[::1", False),
        ("localhost.localdomain", False),
        ("127.\u0966.\u0966.\u0967", False),
        ("\uff11\uff12\uff17.0.0.1", False),  # full-width digits
        ("127.0.0.\u00b9", False),
        ("", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert url_rules.is_loopback_host(host) is loopback


_octets = st.one_of(
    st.integers(0, 300).map(str),
    st.text("0123456789", min_size=1, max_size=4),
    st.text(st.characters(categories=["Nd"]), min_size=1, max_size=3),  # any script's digits
)


@hypothesis_settings(max_examples=examples(400), deadline=None)
@given(st.lists(_octets, min_size=1, max_size=5), st.booleans())
@example(["127", "0", "0", "1"], True)
@example(["127", "00", "0", "1"], True)
def test_ipv4_loopback_is_what_ipaddress_says(octets: list[str], first_is_127: bool) -> None:
    host = ".".join((["127"] if first_is_127 else []) + octets)
    try:
        expected = ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        expected = False
    assert url_rules.is_loopback_host(host) is expected


@hypothesis_settings(max_examples=examples(200), deadline=None)
@given(st.ip_addresses(v=6).map(str) | st.text("0123456789abcdef:.", max_size=20))
def test_ipv6_loopback_is_only_the_one_address(text: str) -> None:
    try:
        expected = ipaddress.IPv6Address(text) == ipaddress.IPv6Address("::1")
    except ValueError:
        expected = False
    assert url_rules.is_loopback_host(f"[{text}]") is expected


_url_chars = st.sampled_from([*"aAz09.-_:[]@/?#%\\ ", "\u0966", "\u00e9", "::1", "127"])
_hosts = st.sampled_from(
    ["localhost", "127.0.0.1", "127.8.0.1", "[::1]", "[2001:db8::7]", "api.example", "API.Example.",
     "10.0.0.1", "a_b", "[::1", "::1", "", "a..b", "127.0.0.1.", "[v1.x]", "x@localhost"]
)  # fmt: skip
_ports = st.sampled_from(["", ":", ":1", ":8080", ":65535", ":65536", ":0", ":08", ":-1", ":x"])
_paths = st.sampled_from(["", "/", "/base", "/a/b/", "/%20", "/@x", "/a:b", "?q", "#f"])
_urls = st.one_of(
    st.tuples(st.sampled_from(["http://", "https://", "HTTPS://"]), _hosts, _ports, _paths).map(
        "".join
    ),
    st.tuples(
        st.sampled_from(["http://", "https://", "http:/", ""]),
        st.lists(_url_chars, max_size=14).map("".join),
    ).map("".join),
)


@hypothesis_settings(max_examples=examples(500), deadline=None)
@given(_urls)
@example("http://[::1]evil.com")
@example("https://[::1]:")
def test_every_url_it_lets_through_is_read_the_same_way_by_httpx(url: str) -> None:
    if url_rules.url_problem(url) is not None:
        return
    parsed = httpx.URL(url + "/v1/kubernetes")  # never raises InvalidURL
    host = url_rules.url_host(url)
    assert parsed.scheme in ("http", "https")
    assert (f"[{parsed.host}]" if ":" in parsed.host else parsed.host) == host
    assert parsed.userinfo == b""
    assert (parsed.query, parsed.fragment) == (b"", "")
    if parsed.scheme == "http":
        assert url_rules.is_loopback_host(host)


@pytest.mark.slow  # starts processes itself
def test_the_usual_loopback_hosts_are_checked_without_importing_ipaddress() -> None:
    # url_problem runs on every cache hit: ipaddress costs more than the rest of the hit.
    code = (
        "import sys\n"
        "from rgpu_exec.hotpath import url_rules\n"
        "for url in ['http://127.0.0.1:8080', 'http://127.4.5.6', 'http://localhost:1',\n"
        "            'http://[::1]:2', 'https://api.remotegpu.ai', 'https://10.0.0.1:443']:\n"
        "    assert url_rules.url_problem(url) is None, url\n"
        "print('ipaddress' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("given", "advice"),
    [
        pytest.param("127.0.0.1:8080", "Did you mean http://127.0.0.1:8080?", id="local"),
        pytest.param("api.remotegpu.ai", "Did you mean https://api.remotegpu.ai?", id="remote"),
        pytest.param("ftp://api.remotegpu.ai", "Use an https:// URL", id="other-scheme"),
    ],
)
def test_a_url_without_its_scheme_gets_the_one_it_needs(given, advice) -> None:
    problem = request.api_url_problem(given)
    assert problem is not None
    assert advice in problem
