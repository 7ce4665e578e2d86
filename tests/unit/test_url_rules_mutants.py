"""The API URL rules (`hotpath.url_rules`), pinned where mutation testing (`make mutation`) found
no test holding them: the loopback addresses known without `ipaddress`, a host half in brackets,
and an empty label before a final dot."""

from __future__ import annotations

import sys

import pytest

from rgpu_exec.hotpath import url_rules


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.255", "127.0.0.0", "localhost", "[::1]"])
def test_the_usual_loopback_hosts_are_known_without_ipaddress(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    # The cache-hit path checks the URL of a plain-http API on every run: `ipaddress` is
    # loaded only for rare hosts.
    monkeypatch.setitem(sys.modules, "ipaddress", None)  # importing it now fails

    assert url_rules.is_loopback_host(host)


@pytest.mark.parametrize("host", ["127.0.0.01", "127.00.0.1", "127.0.0.001"])
def test_an_octet_with_a_leading_zero_makes_no_loopback_address(host: str) -> None:
    # As `ipaddress` reads it (octal or decimal? it refuses to guess), and so plain http to it
    # is refused.
    assert not url_rules.is_loopback_host(host)
    assert url_rules.url_problem(f"http://{host}:8080") is not None


@pytest.mark.parametrize("host", ["[::1", "1::1]", "x::1]", ":::1]"])
def test_a_host_with_one_bracket_is_not_loopback(host: str) -> None:
    assert not url_rules.is_loopback_host(host)


@pytest.mark.parametrize(
    "url", ["https://api..example.test.", "https://.example.test.", "https://api.example..."]
)
def test_a_host_with_an_empty_label_is_refused_even_with_a_final_dot(url: str) -> None:
    problem = url_rules.url_problem(url)

    assert problem is not None
    assert "not a host name" in problem


def test_a_host_name_may_end_with_a_dot() -> None:
    assert url_rules.url_problem("https://api.example.test.") is None


@pytest.mark.parametrize("url", ["https://", "https://:443", "https:///v1"])
def test_a_url_without_a_host_says_so(url: str) -> None:
    assert url_rules.url_problem(url) == "has no host"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        pytest.param("https://[FE80::A]:443/v1", "[fe80::a]", id="ipv6"),
        pytest.param("https://User@API.Example.TEST:443/v1", "api.example.test", id="name"),
        pytest.param("https://[::1]]:443/", "[::1]", id="ipv6-ends-at-the-first-bracket"),
        pytest.param("https://Xn--bcher-kva.example/x", "xn--bcher-kva.example", id="punycode"),
        pytest.param("https://api.example.test:1:2/", "api.example.test", id="at-the-first-colon"),
    ],
)
def test_a_urls_host_is_lower_cased_without_port_or_user(url: str, host: str) -> None:
    assert url_rules.url_host(url) == host


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        pytest.param("ftp://host:443/", "FTP://HOST:443", True, id="other-scheme-case"),
        pytest.param("ftp://host:21", "ftp://host", False, id="other-scheme-no-default-port"),
        pytest.param("unix://socket/", "unix://socket", True, id="other-scheme-slash"),
        pytest.param("https://h.test/Path", "HTTPS://H.TEST/path", False, id="path-keeps-case"),
        pytest.param("https://h.test:443/v1", "https://h.test/v1", True, id="default-port"),
    ],
)
def test_urls_of_another_scheme_compare_without_a_default_port(
    first: str, second: str, same: bool
) -> None:
    # Only http and https have a default port to leave out; other schemes (a kubeconfig's
    # server may be anything) compare in any case, with or without a trailing slash.
    assert url_rules.same_url(first, second) is same


@pytest.mark.parametrize("port", ["008080", "000443", "0065535"])
def test_a_port_has_at_most_five_digits(port: str) -> None:
    # 008080 is 8080 to some clients and refused by others: refused.
    problem = url_rules.url_problem(f"https://api.example.test:{port}")

    assert problem is not None
    assert "port" in problem


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        pytest.param(
            "https://api.exämple.test",
            "has characters that are not ASCII (write an international host name as xn--…)",
            id="not-ascii",
        ),
        pytest.param(
            "https://api.example.test/?a",
            "has a query or a fragment (give the API's base URL only)",
            id="query",
        ),
        pytest.param(
            "https://u:p@api.example.test",
            "has a user name or password in it (the API key is the only credential sent)",
            id="user",
        ),
        pytest.param(
            "http://api.example.test",
            "uses plain http to a non-loopback host (the API key would travel in clear)",
            id="plain-http",
        ),
    ],
)
def test_a_refused_url_says_why(url: str, problem: str) -> None:
    assert url_rules.url_problem(url) == problem


def test_a_host_name_has_at_most_253_characters() -> None:
    host = ("a" * 62 + ".") * 4 + "b"
    assert len(host) == 253

    assert url_rules.url_problem(f"https://{host}") is None
    assert url_rules.url_problem(f"https://{host}c") is not None


def test_plain_http_to_the_ipv6_loopback_is_accepted_without_ipaddress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ipaddress", None)  # importing it now fails

    assert url_rules.url_problem("http://[::1]:8080") is None
