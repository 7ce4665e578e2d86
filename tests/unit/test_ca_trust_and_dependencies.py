"""Which CA store the exchange trusts (as docs/security.md says), and the dependencies it needs
declared, with floors past the known CVEs of what httpx pulls in."""

from __future__ import annotations

import importlib.metadata
import ssl
from pathlib import Path

import certifi
import pytest
import trustme

from rgpu_exec.api.http_support import ssl_context

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"
# name: (the floor, why)
FLOORS = {
    "certifi": ((2024, 7, 4), "CVE-2024-39689: GLOBALTRUST roots removed"),
    "h11": ((0, 16), "CVE-2025-43859: request smuggling"),
    "idna": ((3, 7), "CVE-2024-3651: quadratic-time encode"),
}


def _cas(context: ssl.SSLContext) -> int:
    return context.cert_store_stats()["x509_ca"]


def test_without_ssl_cert_file_the_trust_is_certifis_bundle_not_the_systems() -> None:
    assert _cas(ssl_context({})) == _cas(ssl.create_default_context(cafile=certifi.where()))


def test_ssl_cert_file_replaces_it_and_the_api_bundle_adds_to_it(tmp_path: Path) -> None:
    proxy_ca, api_ca = tmp_path / "proxy.pem", tmp_path / "api.pem"
    trustme.CA().cert_pem.write_to_path(str(proxy_ca))
    trustme.CA().cert_pem.write_to_path(str(api_ca))

    assert _cas(ssl_context({"SSL_CERT_FILE": str(proxy_ca)})) == 1
    both = {"SSL_CERT_FILE": str(proxy_ca), "REMOTEGPU_CA_BUNDLE": str(api_ca)}
    assert _cas(ssl_context(both)) == 2
    bundled = _cas(ssl.create_default_context(cafile=certifi.where()))
    assert _cas(ssl_context({"REMOTEGPU_CA_BUNDLE": str(api_ca)})) == bundled + 1


def _declared() -> dict[str, str]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    declared = {}
    for requirement in project["dependencies"]:
        name, _, floor = requirement.partition(">=")
        declared[name.strip().lower()] = floor.strip()
    return declared


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_the_dependency_is_declared_with_its_floor(name: str) -> None:
    floor, why = FLOORS[name]
    declared = _declared()
    assert name in declared, f"{name} is imported or pulled in but not declared"
    assert _version(declared[name]) >= floor, why


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_the_installed_version_meets_the_floor(name: str) -> None:
    floor, why = FLOORS[name]
    assert _version(importlib.metadata.version(name)) >= floor, why


def _version(text: str) -> tuple[int, ...]:
    numbers = []
    for part in text.split("."):
        digits = "".join(c for c in part if c.isascii() and c.isdigit())
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)
