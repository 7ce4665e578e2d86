"""`tls.tls_context`: one context per trust in a process, made again as soon as the trust is
another (another file, a file changed, SSL_CERT_FILE pointing elsewhere), and never one that
trusts less or other than asked."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import certifi
import pytest
import trustme

from rgpu_exec.tls import tls_context

if TYPE_CHECKING:
    from pathlib import Path


def subjects(context: ssl.SSLContext) -> set[str]:
    """The serial numbers of the CAs `context` trusts (those loaded from files)."""
    return {str(ca["serialNumber"]) for ca in context.get_ca_certs()}


def ca_file(path: Path) -> tuple[Path, str]:
    """A new CA's certificate written at `path`, and its common name."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(path))
    (name,) = subjects_of_pem(ca.cert_pem.bytes())
    return path, name


def subjects_of_pem(pem: bytes) -> set[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=pem.decode())
    return subjects(context)


def test_the_same_trust_is_one_context_in_a_process() -> None:
    assert tls_context(cafile=certifi.where()) is tls_context(cafile=certifi.where())
    assert tls_context() is tls_context()
    assert tls_context() is not tls_context(cafile=certifi.where())


def test_a_ca_file_changed_in_place_is_loaded_again(tmp_path: Path) -> None:
    path, first = ca_file(tmp_path / "ca.pem")
    before = tls_context(cafile=str(path))
    _, second = ca_file(path)  # the same name, another CA
    after = tls_context(cafile=str(path))

    assert subjects(before) == {first}
    assert subjects(after) == {second}


def test_the_files_trusted_besides_are_part_of_the_trust(tmp_path: Path) -> None:
    main, main_name = ca_file(tmp_path / "main.pem")
    extra, extra_name = ca_file(tmp_path / "extra.pem")
    alone = tls_context(cafile=str(main))
    both = tls_context(cafile=str(main), also=[str(extra)])

    assert subjects(alone) == {main_name}
    assert subjects(both) == {main_name, extra_name}
    assert tls_context(cafile=str(main), also=[str(extra)]) is both


def test_the_systems_store_follows_ssl_cert_file_at_each_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, one_name = ca_file(tmp_path / "one.pem")
    two, two_name = ca_file(tmp_path / "two.pem")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(one))
    first = tls_context()
    monkeypatch.setenv("SSL_CERT_FILE", str(two))
    second = tls_context()

    assert one_name in subjects(first)
    assert two_name not in subjects(first)
    assert two_name in subjects(second)
    assert one_name not in subjects(second)


def test_a_file_that_cannot_be_read_fails_every_time(tmp_path: Path) -> None:
    missing = tmp_path / "gone.pem"
    for _ in range(2):  # nothing was kept from the first failure
        with pytest.raises(OSError):
            tls_context(cafile=str(missing))
    broken = tmp_path / "broken.pem"
    broken.write_text("not a certificate\n")
    for _ in range(2):
        with pytest.raises((OSError, ValueError)):
            tls_context(cafile=str(broken))
