"""Hostile kubeconfigs, through the installed `rgpu-exec`: YAML aliases cannot blow up memory or
time, a `certificate-authority` path must be a small regular file, and a rewritten file keeps
its owner."""

from __future__ import annotations

import base64
import os
import re
import time
from pathlib import Path

import pytest

from conftest import NAMESPACE_ID, console_kubeconfig

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
CA_DATA = base64.b64encode(CA_PEM).decode()
GENERATE = [
    "kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
    "--server", "https://k8s.example:6443", "--no-verify",
]  # fmt: skip
API_URL = "https://api.remotegpu.ai"


def billion_laughs() -> str:
    """Nine levels of nine aliases: under 1 KB of text, 9^9 (387 million) nodes expanded."""
    lines = ["apiVersion: v1", "kind: Config", 'a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    lines += ["preferences: *a9", "clusters: []", "contexts: []", "users: []"]
    return "\n".join(lines) + "\n"


@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_yaml_aliases_cannot_blow_up_memory_or_time(run_cli, sandbox):
    bomb = billion_laughs()
    assert len(bomb) < 1000
    kubeconfig = sandbox / "kubeconfig"  # KUBECONFIG points here (see conftest)
    kubeconfig.write_text(bomb)
    imported = sandbox / "console.yaml"
    imported.write_text(bomb)

    started = time.monotonic()
    edited = run_cli([*GENERATE, "--certificate-authority-data", CA_DATA])
    doctor = run_cli(["doctor"])
    imported_run = run_cli(["kubeconfig", "import", str(imported)])
    elapsed = time.monotonic() - started

    for result in (edited, imported_run):
        assert result.returncode == 2
        assert "its YAML aliases expand to more than 1,000,000 nodes" in result.stderr
    assert doctor.returncode == 6
    assert "YAML aliases expand to more than 1,000,000 nodes" in doctor.stdout
    assert kubeconfig.read_text() == bomb
    assert elapsed < 30  # today's code needs minutes and gigabytes for the first alone


def test_a_self_referencing_alias_is_refused(run_cli, sandbox):
    (sandbox / "kubeconfig").write_text("apiVersion: v1\nkind: Config\npreferences: &p [*p]\n")

    result = run_cli([*GENERATE, "--certificate-authority-data", CA_DATA])

    assert result.returncode == 2
    assert "a YAML alias refers to the node that contains it" in result.stderr


@pytest.mark.parametrize("source", ["/dev/zero", "fifo", "directory", "huge"])
def test_a_certificate_authority_path_must_be_a_small_regular_file(run_cli, sandbox, source):
    if source == "fifo":
        path = sandbox / "ca.fifo"
        os.mkfifo(path)
    elif source == "directory":
        path = sandbox
    elif source == "huge":
        path = sandbox / "huge.pem"
        path.write_bytes(CA_PEM + b"\0" * (2 * 1024 * 1024))
    else:
        path = Path(source)

    generated = run_cli([*GENERATE, "--certificate-authority", str(path)])
    console = sandbox / "console.yaml"
    console.write_text(console_kubeconfig(API_URL, cluster_line=f"certificate-authority: {path}"))
    imported = run_cli(["kubeconfig", "import", str(console), "--no-verify"])

    for result in (generated, imported):
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("rgpu-exec: ")
        assert "is not a regular file" in result.stderr or "is over 1024 KiB" in result.stderr
    assert not (sandbox / "kubeconfig").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own a file as another user")
def test_a_rewritten_kubeconfig_keeps_its_owner(run_cli, sandbox):
    kubeconfig = sandbox / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    kubeconfig.chmod(0o640)
    os.chown(kubeconfig, 65534, 65534)  # nobody's file, edited by root

    result = run_cli([*GENERATE, "--certificate-authority-data", CA_DATA])

    assert result.returncode == 0, result.stderr
    st = kubeconfig.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (65534, 65534, 0o640)
    backup = kubeconfig.with_name("kubeconfig.rgpu-exec.bak")
    assert (backup.stat().st_uid, backup.stat().st_gid) == (65534, 65534)
    assert "rgpu-team-ml" in kubeconfig.read_text()


def test_the_dry_run_diff_masks_secret_values_even_of_entries_it_does_not_touch(run_cli, sandbox):
    secrets = ("prod-token-S3CRET", "hunter2-S3CRET", "a2V5LWRhdGEtUzNDUkVU", "refresh-S3CRET")
    kubeconfig = sandbox / "kubeconfig"
    kubeconfig.write_text(f"""\
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {{server: https://prod.example}}
contexts:
- name: prod
  context: {{cluster: prod, user: prod}}
current-context: prod
users:
- name: prod
  user:
    token: {secrets[0]}
- name: basic
  user:
    username: admin
    password: "{secrets[1]}"
    client-key-data: {secrets[2]}
- name: oidc
  user:
    auth-provider:
      name: oidc
      config:
        refresh-token: {secrets[3]}  # rotated daily
""")

    result = run_cli([*GENERATE, "--certificate-authority-data", CA_DATA, "--dry-run"])

    assert result.returncode == 0, result.stderr
    assert "+- name: rgpu-team-ml" in result.stdout
    assert not [s for s in secrets if s in result.stdout]
    assert result.stdout.count(", not shown>") >= 1
    assert re.search(r"refresh-token: <secret \d+, not shown>  # rotated daily", result.stdout)
