"""A loopback `http://` API needs no TLS trust: the exchange loads no CA bundle for it, unless
CA files are set in the environment, which are loaded (and refused when broken) on either
scheme, as before."""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import pytest

from rgpu_exec.api import exchange, http_support
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.api.exchange import Exchanger
from rgpu_exec.errors import UsageError

from conftest import API_KEY

LOOPBACK = "http://127.0.0.1:9"


def test_a_loopback_http_api_loads_no_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_environ: object) -> None:
        raise AssertionError("a CA bundle was loaded for plain http")

    monkeypatch.setattr(exchange, "ssl_context", refuse)
    with Exchanger(ApiEndpoint(LOOPBACK, {}), API_KEY).session(1.0):
        pass


def test_an_https_api_always_gets_its_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[object] = []
    real = http_support.ssl_context

    def counted(environ: Mapping[str, str]) -> ssl.SSLContext:
        loaded.append(environ)
        return real(environ)

    monkeypatch.setattr(exchange, "ssl_context", counted)
    with Exchanger(ApiEndpoint("https://api.example.test", {}), API_KEY).session(1.0):
        pass
    assert loaded == [{}]


@pytest.mark.parametrize("name", ["REMOTEGPU_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_broken_ca_setting_stops_a_plain_http_exchange_too(name: str) -> None:
    with pytest.raises(UsageError, match="cannot load the CA certificates"):
        Exchanger(ApiEndpoint(LOOPBACK, {name: "/nonexistent/ca.pem"}), API_KEY).session(1.0)
