"""`rgpu-exec doctor`: the whole screen through the launcher, and each rule on its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from rgpu_exec import doctor, doctor_kube

from conftest import API_KEY, NAMESPACE_ID
from emulator_support import RGPU_EXEC, Harness, Kubectl, run

VENV_BIN = str(Path(sys.executable).parent)
V1 = "client.authentication.k8s.io/v1"


def kubeconfig(
    path: Path, users: dict[str, dict[str, Any]], server: str = "https://k8s.example"
) -> Path:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": next(iter(users)),
        "clusters": [{"name": "rgpu", "cluster": {"server": server}}],
        "contexts": [{"name": n, "context": {"cluster": "rgpu", "user": n}} for n in users],
        "users": [{"name": n, "user": u} for n, u in users.items()],
    }
    path.write_text(json.dumps(document))
    return path


def good_user(command: str = "rgpu-exec", namespace_id: str = NAMESPACE_ID) -> dict[str, Any]:
    args = ["token", "--namespace-id", namespace_id]
    return {
        "exec": {"apiVersion": V1, "interactiveMode": "Never", "command": command, "args": args}
    }


def run_doctor(
    rgpu_exec_bin: str, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [rgpu_exec_bin, "doctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": os.pathsep.join([VENV_BIN, os.defpath]), **env},
        timeout=60,
        check=False,
    )


def findings(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    document = json.loads(result.stdout)
    assert document["ok"] is (result.returncode == 0)
    return list(document["findings"])


def test_all_well_exits_0(rgpu_exec_bin, stub_api, sandbox):
    kubeconfig(sandbox / "kubeconfig", {"team-ml": good_user()})

    result = run_doctor(
        rgpu_exec_bin, {"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": stub_api.url}
    )

    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert "REMOTEGPU_API_KEY: rgpu_3f9a2c1b…" in out
    assert f"{stub_api.url} answered (HTTP " in out
    assert "clock" in out
    assert "v1.37" in out or "kubectl" in out
    assert f"runs {VENV_BIN}/rgpu-exec, namespace {NAMESPACE_ID}" in out
    assert out.rstrip().endswith("rgpu-exec doctor: no problems found.")
    assert API_KEY not in out + result.stderr
    assert stub_api.count == 0  # no exchange was spent: the probe is a keyless GET


def test_every_problem_comes_with_its_fix_and_exit_6(rgpu_exec_bin, sandbox):
    cache = sandbox / "cache"
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    static = {**good_user(), "token": "static-token"}
    kubeconfig(
        sandbox / "kubeconfig",
        {
            "a-missing-command": good_user(command="./bin/rgpu-exec"),
            "b-no-interactive-mode": {"exec": {**good_user()["exec"], "interactiveMode": None}},
            "c-static-token": static,
            "d-no-namespace": good_user(namespace_id="team-ml"),
        },
    )
    (sandbox / "home" / ".kube").mkdir()
    (sandbox / "home" / ".kube" / "kuberc").write_text(
        "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\ncredentialPluginPolicy: DenyAll\n"
    )

    result = run_doctor(
        rgpu_exec_bin, {"REMOTEGPU_API_URL": "http://127.0.0.1:9"}, "--output", "json"
    )

    assert result.returncode == 6
    problems = {
        (f["topic"], f["detail"].split(":")[0]): f
        for f in findings(result)
        if f["status"] == "problem"
    }
    details = " | ".join(f["detail"] for f in problems.values())
    assert ("API key", "no key") in problems
    assert (
        "keyring",
        "no keyring backend is usable on this machine (no Secret Service, KWallet, Keychain or Windows Credential Manager was found)",
    ) in problems
    assert "is writable by other users" in details
    assert "cannot reach the RemoteGPU API at http://127.0.0.1:9" in details
    assert "exec command './bin/rgpu-exec' is not found" in details
    assert "no interactiveMode" in details
    assert "static `token` sits beside exec" in details
    assert "no valid --namespace-id ('team-ml')" in details
    assert "DenyAll stops kubectl from running rgpu-exec" in details
    assert all(f["fix"] for f in problems.values() if f["topic"] != "API")
    text = run_doctor(rgpu_exec_bin, {"REMOTEGPU_API_URL": "http://127.0.0.1:9"})
    assert text.returncode == 6
    assert "fix: chmod 700" in text.stdout
    assert "fix: add `interactiveMode: Never` to the exec stanza" in text.stdout
    assert text.stdout.rstrip().endswith("problem(s) found.")


def test_kubectl_missing_from_path(rgpu_exec_bin, sandbox):
    result = subprocess.run(
        [rgpu_exec_bin, "doctor", "-o", "json"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PATH": str(sandbox), "REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": "http://127.0.0.1:9"},
    )  # fmt: skip

    kubectl = [f for f in findings(result) if f["topic"] == "kubectl"]
    assert kubectl == [
        {
            "topic": "kubectl",
            "status": "problem",
            "detail": "kubectl is not on PATH",
            "fix": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
        }
    ]


def test_a_relative_command_resolves_against_the_kubeconfig_directory(sandbox):
    bin_dir = sandbox / "configs" / "bin"
    bin_dir.mkdir(parents=True)
    plugin = bin_dir / "rgpu-exec"
    plugin.write_text("#!/bin/sh\n")
    plugin.chmod(0o755)
    defined_in = str(sandbox / "configs" / "kubeconfig")

    assert doctor_kube.resolve_command("./bin/rgpu-exec", defined_in, {"PATH": ""}) == str(plugin)
    assert doctor_kube.resolve_command(str(plugin), "/elsewhere/config", {"PATH": ""}) == str(
        plugin
    )
    assert doctor_kube.resolve_command("rgpu-exec", defined_in, {"PATH": str(bin_dir)}) == str(
        plugin
    )
    assert doctor_kube.resolve_command("rgpu-exec", defined_in, {"PATH": str(sandbox)}) is None


def test_http_servers_and_the_curl_baseline(sandbox):
    path = kubeconfig(
        sandbox / "kubeconfig",
        {
            "plain-http": good_user(command=f"{VENV_BIN}/rgpu-exec"),
            "curl": {"exec": {"apiVersion": V1, "interactiveMode": "Never", "command": "sh",
                              "args": ["-c", "curl -X POST https://api/v1/kubernetes/namespaces/x/exec-credential"]}},
        },
        server="http://k8s.example",
    )  # fmt: skip

    found, commands = doctor_kube.kubeconfig_findings(str(path), {"PATH": VENV_BIN})

    assert [f.status for f in found] == ["note", "problem"]
    assert "calls the RemoteGPU API itself on every kubectl command" in found[0].detail
    assert "kubectl runs exec plugins only for TLS servers" in found[1].detail
    assert commands == [f"{VENV_BIN}/rgpu-exec"]


@pytest.mark.parametrize(
    ("kuberc", "status", "words"),
    [
        pytest.param("credentialPluginPolicy: AllowAll\n", "ok", "AllowAll", id="allow-all"),
        pytest.param("kind: Preference\n", "ok", "AllowAll", id="no-policy"),
        pytest.param("credentialPluginPolicy: DenyAll\n", "problem", "DenyAll", id="deny-all"),
        pytest.param(
            "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: rgpu-exec\n",
            "ok",
            "allowlist",
            id="basename",
        ),
        pytest.param(
            "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: other\n",
            "problem",
            "does not allow",
            id="not-listed",
        ),
        pytest.param("credentialPluginPolicy: Sometimes\n", "problem", "unknown", id="unknown"),
        pytest.param(
            "credentialPluginPolicy: [unclosed\n", "problem", "cannot read", id="broken-yaml"
        ),
    ],
)
def test_kuberc_policy(sandbox, kuberc, status, words):
    path = sandbox / "kuberc"
    path.write_text(kuberc)
    plugin = f"{VENV_BIN}/rgpu-exec"

    (finding,) = doctor_kube.kuberc_findings({"KUBERC": str(path), "PATH": VENV_BIN}, [plugin])

    assert finding.status == status
    assert words in finding.detail
    assert (finding.fix is not None) == (status == "problem")


def test_kuberc_off_or_absent_says_nothing(sandbox):
    assert doctor_kube.kuberc_findings({"KUBERC": "off"}, []) == []
    assert doctor_kube.kuberc_findings({"HOME": str(sandbox)}, []) == []


def date_header(offset: timedelta) -> dict[str, str]:
    return {"date": format_datetime(datetime.now(timezone.utc) + offset, usegmt=True)}


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        pytest.param(timedelta(0), "ok", id="in-sync"),
        pytest.param(timedelta(minutes=-2), "note", id="two-minutes"),
        pytest.param(timedelta(minutes=10), "problem", id="ten-minutes"),
    ],
)
def test_clock_skew_from_the_date_header(offset, status):
    transport = httpx.MockTransport(
        lambda _request: httpx.Response(404, headers=date_header(offset))
    )

    api, clock = doctor.api_findings("https://api.remotegpu.test", {}, transport=transport)

    assert api.status == "ok"
    assert clock.status == status
    if status == "problem":
        assert "ahead of" not in clock.detail
        assert re.search(r"(599|600|601) s behind the API's", clock.detail)  # Date has 1 s steps
        assert clock.fix


def test_the_api_probe_never_sends_the_key():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    doctor.api_findings(
        "https://api.remotegpu.test",
        {"REMOTEGPU_API_KEY": API_KEY},
        transport=httpx.MockTransport(answer),
    )

    (request,) = seen
    assert request.method == "GET"
    assert "x-api-key" not in request.headers
    assert API_KEY not in str(request.headers)


@pytest.mark.e2e
def test_doctor_against_the_emulator_and_its_kubeconfig(emulator: Harness, kubectl: Kubectl):
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)["key"]
    emulator.kubeconfig(team)
    env = {
        **emulator.plugin_env(key, REMOTEGPU_API_URL=emulator.ready.api_url),
        "PATH": os.pathsep.join([str(Path(kubectl.path).parent), os.defpath]),
    }

    well = run([str(RGPU_EXEC), "doctor", "-o", "json"], env)
    emulator.client.set_clock(offset=-900)  # the API's clock 15 minutes behind ours
    skewed = run([str(RGPU_EXEC), "doctor", "-o", "json"], env)

    assert well.returncode == 0, well.stdout
    kube = [f for f in findings(well) if f["topic"] == "kubeconfig"]
    assert [f["status"] for f in kube] == ["ok"]
    assert f"runs {RGPU_EXEC}, namespace {team['id']}" in kube[0]["detail"]
    assert emulator.exchanges() == 0, emulator.client.stats()
    assert skewed.returncode == 6
    (clock,) = [f for f in findings(skewed) if f["topic"] == "clock"]
    assert clock["status"] == "problem"
    assert "ahead of the API's" in clock["detail"]
