"""The wrong turns `kubeconfig generate | import` used to let through: a cluster whose certificate
kubectl will not trust, an API URL that is a Kubernetes server, and a multi-file import whose
backup did not undo it. Each ends in a failure that writes nothing, with its cause and a fix that
works as printed (the fix is run). In process: respx answers the API; the cluster is a loopback
TLS server in a thread, with a certificate of its own CA (trustme), or respx too."""

from __future__ import annotations

import base64
import json
import shlex
import ssl
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import trustme
import yaml

from local_server import serving
from rgpu_exec.hotpath.url_rules import same_url

from conftest import API_KEY, NAMESPACE_ID, console_kubeconfig
from exchange_answers import credential_body

API = "https://api.remotegpu.ai"
SERVER = "https://k8s.example:6443"
REVIEW = f"{SERVER}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
OTHER_CA = base64.b64encode(PEM).decode()
GENERATE = [
    "kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
    "--server", SERVER, "--exec-command", "rgpu-exec",
]  # fmt: skip
EXISTING = """\
apiVersion: v1
kind: Config
clusters:
- cluster: {server: 'https://prod.example:8443'}
  name: prod
contexts:
- context: {cluster: prod, user: prod}
  name: prod
current-context: prod
users:
- name: prod
  user: {token: prod-token}
"""
CV_ID = "0b5e2f3a-1c4d-4e6f-8a9b-0c1d2e3f4a5b"


def review(allowed: bool = True) -> httpx.Response:
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "status": {"allowed": allowed},
    }
    return httpx.Response(201, json=body)


class _Review(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps(review().json()).encode()
        self.send_response(201)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def tls_cluster(sandbox: Path) -> Iterator[tuple[str, Path]]:
    """A Kubernetes API server that answers every review "allowed", over TLS with a certificate
    its own CA signed (as a private cluster's is): its URL, and that CA's PEM file."""
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Review)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    ca_file = sandbox / "cluster-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with serving(server):
        yield f"https://localhost:{server.server_address[1]}", ca_file


def generate(server: str) -> list[str]:
    return [*GENERATE[:-4], "--server", server, *GENERATE[-2:]]


@pytest.fixture
def answers(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    with respx.mock(assert_all_called=False) as router:
        router.post(url__regex=r".*/exec-credential$").mock(
            return_value=httpx.Response(200, json=credential_body())
        )
        router.route(host="localhost").pass_through()  # the TLS cluster
        yield router


@pytest.fixture
def kubeconfig(sandbox: Path) -> Path:
    return sandbox / "kubeconfig"  # KUBECONFIG points here (see conftest)


def leftovers(kubeconfig: Path) -> list[str]:
    """What a write leaves beside the kubeconfig: its backup, its lock, temp files."""
    return sorted(p.name for p in kubeconfig.parent.iterdir() if p.name.startswith("kubeconfig"))


def the_fix(stderr: str) -> list[str]:
    """The command the message says to run (the last `...` in it), as a shell would split it."""
    command = stderr.rsplit("`", 2)[-2]
    words = shlex.split(command)
    assert words[0] == "rgpu-exec", command
    return words[1:]


# --- Not ok is not exit 0 -----------------------------------------------------------------


def test_an_untrusted_certificate_without_a_ca_fails_generate_and_writes_nothing(
    run_cli, answers, kubeconfig, tls_cluster
):
    server, _ = tls_cluster

    result = run_cli(generate(server))

    assert result.returncode == 2, result.stderr
    assert leftovers(kubeconfig) == []  # no file, no backup, no lock
    err = result.stderr
    assert err.startswith("rgpu-exec: verification failed, so nothing was written: ")
    assert f"the cluster at {server} given with --server was asked, and its certificate is " in err
    # Where the CA is found, not a placeholder to fill in; and the explicit opt-out.
    assert "console offers for download on the namespace's page" in err
    assert "--certificate-authority-data" in err
    assert "cluster admin" in err
    assert "--no-verify" in err
    assert "…" not in err
    assert result.stdout == ""


def test_an_untrusted_certificate_fails_import_and_leaves_the_kubeconfig_byte_identical(
    run_cli, answers, kubeconfig, sandbox, tls_cluster
):
    server, _ = tls_cluster
    kubeconfig.write_text(EXISTING)
    downloaded = sandbox / "remotegpu-team-ml-kubeconfig.yaml"
    downloaded.write_text(console_kubeconfig(API, server))

    result = run_cli(["kubeconfig", "import", str(downloaded)])

    assert result.returncode == 2, result.stderr
    assert kubeconfig.read_text() == EXISTING
    assert leftovers(kubeconfig) == ["kubeconfig"]
    assert f"named in {downloaded}" in result.stderr
    assert "download the kubeconfig again from the console's namespace page" in result.stderr


def test_a_ca_bundle_the_certificate_verifies_with_is_named_in_a_fix_that_runs_as_printed(
    run_cli, answers, kubeconfig, tls_cluster
):
    server, ca_file = tls_cluster
    bundle = str(ca_file)  # as REMOTEGPU_CA_BUNDLE names a private CA's file

    failed = run_cli(
        [*generate(server), "--context", "my team"], env={"REMOTEGPU_CA_BUNDLE": bundle}
    )

    assert failed.returncode == 2, failed.stderr
    assert leftovers(kubeconfig) == []
    assert "the file REMOTEGPU_CA_BUNDLE names is one its certificate verifies with" in (
        failed.stderr
    )
    fix = the_fix(failed.stderr)
    assert fix[-2:] == ["--certificate-authority", bundle]
    assert "my team" in fix  # the flags given come back, shell-quoted

    fixed = run_cli(fix)

    assert fixed.returncode == 0, fixed.stderr
    assert "lets its token list pods in namespace team-ml" in fixed.stdout
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == ca_file.read_bytes()


def test_a_ca_given_that_does_not_sign_the_certificate_fails_too(
    run_cli, answers, kubeconfig, tls_cluster, sandbox
):
    server, _ = tls_cluster
    other = sandbox / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))

    result = run_cli([*generate(server), "--certificate-authority", str(other)])

    assert result.returncode == 2, result.stderr
    assert leftovers(kubeconfig) == []
    assert "does not sign that certificate" in result.stderr


def test_a_ca_given_that_signs_the_certificate_verifies(run_cli, answers, kubeconfig, tls_cluster):
    server, ca_file = tls_cluster

    result = run_cli([*generate(server), "--certificate-authority", str(ca_file)])

    assert result.returncode == 0, result.stderr
    assert f"the cluster at {server} given with --server lets its token list pods" in result.stdout


def test_no_verify_is_the_explicit_opt_out_and_says_it_did_not_verify(run_cli, answers, kubeconfig):
    result = run_cli([*GENERATE, "--no-verify"])

    assert result.returncode == 0, result.stderr
    assert not answers.calls  # nobody was asked
    assert "rgpu-exec: not verified: --no-verify wrote it without asking" in result.stdout
    assert "`rgpu-exec check --context rgpu-team-ml` asks the API about the key" in result.stdout
    assert (
        "`rgpu-exec doctor --context rgpu-team-ml` asks the cluster about its certificate"
        in result.stdout
    )


def test_the_kubeconfigs_own_insecure_skip_tls_verify_is_honoured_as_kubectl_does(
    run_cli, answers, kubeconfig, tls_cluster
):
    server, _ = tls_cluster
    kubeconfig.write_text(
        EXISTING.replace(
            "- cluster: {server: 'https://prod.example:8443'}\n  name: prod",
            "- cluster: {server: 'https://prod.example:8443'}\n  name: prod\n"
            f"- cluster: {{server: '{server}', insecure-skip-tls-verify: true}}\n"
            "  name: rgpu-team-ml",
        )
    )
    result = run_cli(generate(server))

    assert result.returncode == 0, result.stderr
    assert "verified with" in result.stdout


def test_import_takes_the_ca_flags_and_they_replace_the_files_own_ca(
    run_cli, answers, kubeconfig, sandbox
):
    answers.post(REVIEW).mock(return_value=review())
    downloaded = sandbox / "remotegpu-team-ml-kubeconfig.yaml"
    own = base64.b64encode(PEM.replace(b"fake", b"own")).decode()
    downloaded.write_text(console_kubeconfig(API, SERVER, f"certificate-authority-data: {own}"))
    ca_file = sandbox / "ca.pem"
    ca_file.write_bytes(PEM)

    with_file = run_cli(["kubeconfig", "import", str(downloaded), "--certificate-authority", str(ca_file)])  # fmt: skip

    assert with_file.returncode == 0, with_file.stderr
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    assert cluster["certificate-authority-data"] == OTHER_CA


# --- Name the server before blaming the network ----------------------------------------------


@pytest.mark.parametrize("spelling", ["HTTPS://K8S.example:6443/", SERVER])
def test_an_api_url_that_is_the_server_given_is_named_before_any_request(
    run_cli, answers, kubeconfig, spelling
):
    result = run_cli([*GENERATE, "--api-url", spelling])

    assert result.returncode == 2, result.stderr
    assert not answers.calls  # before any request
    assert leftovers(kubeconfig) == []
    assert result.stderr.startswith(
        f"rgpu-exec: the API URL {SERVER} (--api-url) is the Kubernetes server "
        "given with --server, not the RemoteGPU API"
    )
    assert "SSL_CERT_FILE" not in result.stderr
    assert "REMOTEGPU_CA_BUNDLE" not in result.stderr


def test_an_api_url_that_is_a_cluster_server_in_the_kubeconfig_is_named_with_its_fix(
    run_cli, answers, kubeconfig
):
    kubeconfig.write_text(EXISTING)

    result = run_cli(GENERATE, env={"REMOTEGPU_API_URL": "https://prod.example:8443"})

    assert result.returncode == 2, result.stderr
    assert not answers.calls
    assert kubeconfig.read_text() == EXISTING
    assert f"is the Kubernetes server of cluster 'prod' in {kubeconfig}" in result.stderr
    assert "run `unset REMOTEGPU_API_URL`" in result.stderr


def test_an_api_url_on_the_default_port_is_the_same_server():
    assert same_url("https://k8s.example:443/", "HTTPS://K8s.Example")
    assert same_url("http://localhost:80", "http://localhost/")
    assert not same_url("https://k8s.example:6443", "https://k8s.example")
    assert not same_url("https://k8s.example", "https://api.example")
    assert not same_url("https://k8s.example/a", "https://k8s.example/b")


def test_token_names_the_server_kubectl_sends_the_token_to_before_any_request(
    run_cli, answers, sandbox
):
    exec_info = (
        '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", '
        f'"spec": {{"interactive": false, "cluster": {{"server": "{SERVER}"}}}}}}'
    )

    result = run_cli(
        ["token", "--namespace-id", NAMESPACE_ID, "--api-url", SERVER],
        env={"KUBERNETES_EXEC_INFO": exec_info},
    )

    assert result.returncode == 2, result.stderr
    assert not answers.calls
    assert "is the Kubernetes server kubectl sends this token to" in result.stderr
    assert "not the RemoteGPU API" in result.stderr


# --- One backup per command ---------------------------------------------------------------


def test_importing_two_files_keeps_one_backup_that_undoes_the_whole_command(
    run_cli, answers, kubeconfig, sandbox
):
    kubeconfig.write_text(EXISTING)
    original = kubeconfig.read_bytes()
    ml = sandbox / "remotegpu-team-ml-kubeconfig.yaml"
    ml.write_text(console_kubeconfig(API, SERVER))
    cv = sandbox / "remotegpu-team-cv-kubeconfig.yaml"
    cv.write_text(console_kubeconfig(API, SERVER).replace("team-ml", "team-cv").replace(NAMESPACE_ID, CV_ID))  # fmt: skip

    result = run_cli(["kubeconfig", "import", str(ml), str(cv), "--no-verify"])

    assert result.returncode == 0, result.stderr
    backup = kubeconfig.with_name("kubeconfig.rgpu-exec.bak")
    assert f"previous content saved in {backup}" in result.stdout
    assert f"its content before this command stays in {backup}" in result.stdout
    # The documented undo: mv <file>.rgpu-exec.bak <file>
    backup.replace(kubeconfig)
    assert kubeconfig.read_bytes() == original


def test_importing_two_files_into_a_new_kubeconfig_leaves_no_backup(
    run_cli, answers, kubeconfig, sandbox
):
    ml = sandbox / "remotegpu-team-ml-kubeconfig.yaml"
    ml.write_text(console_kubeconfig(API, SERVER))
    cv = sandbox / "remotegpu-team-cv-kubeconfig.yaml"
    cv.write_text(console_kubeconfig(API, SERVER).replace("team-ml", "team-cv").replace(NAMESPACE_ID, CV_ID))  # fmt: skip

    result = run_cli(["kubeconfig", "import", str(ml), str(cv), "--no-verify"])

    assert result.returncode == 0, result.stderr
    assert leftovers(kubeconfig) == ["kubeconfig"]
    assert "created by this command" in result.stdout


def test_check_names_a_contexts_cluster_server_given_as_the_api_url_before_any_request(
    run_cli, answers, kubeconfig
):
    kubeconfig.write_text(
        json.dumps({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": SERVER}}],
            "contexts": [{"name": "ml", "context": {"cluster": "c", "user": "u"}}],
            "users": [{"name": "u", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1", "command": "rgpu-exec",
                "args": ["token", "--namespace-id", NAMESPACE_ID]}}}],
        })
    )  # fmt: skip

    result = run_cli(["check", "--context", "ml"], env={"REMOTEGPU_API_URL": SERVER + "/"})

    assert result.returncode == 2, result.stderr
    assert not answers.calls
    assert "is the Kubernetes server of the cluster of context 'ml', not the RemoteGPU API" in (
        result.stderr
    )
