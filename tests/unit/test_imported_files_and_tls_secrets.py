"""What an imported file may bring in: only certificates from a CA file, never a key beside
them; `import --replace` swaps only the console's own curl stanza; and the exchange never writes
TLS session keys to SSLKEYLOGFILE."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest
import trustme

from rgpu_exec.api.http_support import ssl_context
from rgpu_exec.kubeconfig import console, entries

NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
EXCHANGE = f"https://api.remotegpu.ai/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
CONSOLE_SCRIPT = f'curl -fsS -X POST -H "x-api-key: $REMOTEGPU_API_KEY" {EXCHANGE}'


@pytest.fixture
def ca_with_key(tmp_path: Path) -> tuple[Path, bytes]:
    ca = trustme.CA()
    certificate = ca.cert_pem.bytes()
    path = tmp_path / "ca.pem"
    path.write_bytes(ca.private_key_pem.bytes() + certificate + b"# a note\n")
    return path, certificate


def assert_certificates_only(data: str, certificate: bytes) -> None:
    inlined = base64.b64decode(data)
    assert b"PRIVATE KEY" not in inlined
    assert inlined.strip() == certificate.strip()


def test_a_ca_file_with_a_private_key_inlines_only_its_certificates(ca_with_key):
    path, certificate = ca_with_key
    assert_certificates_only(entries.ca_data_from_file(str(path)), certificate)
    # The same file given inline, base64.
    given = base64.b64encode(path.read_bytes()).decode()
    assert_certificates_only(entries.check_ca_data(given), certificate)


def test_an_imported_files_ca_path_inlines_only_its_certificates(ca_with_key, tmp_path):
    path, certificate = ca_with_key
    text = textwrap.dedent(f"""\
        apiVersion: v1
        kind: Config
        clusters:
        - name: c
          cluster: {{server: "https://k8s.example", certificate-authority: {path.name}}}
        contexts:
        - name: team-ml
          context: {{cluster: c, user: u, namespace: team-ml}}
        users:
        - name: u
          user:
            exec:
              command: sh
              args: ["-c", {CONSOLE_SCRIPT!r}]
        """)
    found = console.parse(text, "team-ml.yaml", tmp_path)
    assert found.ca_data is not None
    assert_certificates_only(found.ca_data, certificate)


def test_a_key_file_with_no_certificate_is_refused(tmp_path):
    path = tmp_path / "key.pem"
    path.write_bytes(trustme.CA().private_key_pem.bytes())
    with pytest.raises(Exception, match="holds no PEM certificate"):
        entries.ca_data_from_file(str(path))


@pytest.mark.parametrize(
    ("command", "args", "replaced"),
    [
        pytest.param("sh", ["-c", CONSOLE_SCRIPT], True, id="the-consoles-stanza"),
        pytest.param("/bin/sh", ["-c", CONSOLE_SCRIPT], True, id="sh-by-path"),
        pytest.param("sh", ["-c", CONSOLE_SCRIPT + "; notify-send done"], False, id="more-commands"),
        pytest.param("sh", ["-c", CONSOLE_SCRIPT + " | tee log"], False, id="a-pipe"),
        pytest.param("sh", ["-c", f"my-login && {CONSOLE_SCRIPT}"], False, id="and"),
        pytest.param("my-tool", ["--url", EXCHANGE], False, id="own-tool"),
        pytest.param("bash", ["-c", CONSOLE_SCRIPT], False, id="another-shell"),
        pytest.param("sh", ["-c", f"wget {EXCHANGE}"], False, id="not-curl"),
        pytest.param("sh", ["-e", "-c", CONSOLE_SCRIPT], False, id="other-args"),
    ],
)  # fmt: skip
def test_import_replace_swaps_only_the_consoles_own_stanza(command, args, replaced):
    user = {"exec": {"command": command, "args": args}}
    target = console.console_stanza_target(user)
    assert (target == ("https://api.remotegpu.ai", NAMESPACE_ID)) is replaced
    assert replaced or target is None


def test_the_exchange_never_writes_tls_secrets_to_sslkeylogfile(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "keys.log"))
    context = ssl_context({})
    assert context.keylog_filename is None
