"""`rgpu-exec doctor`: the whole screen through the launcher, and each rule on its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from rgpu_exec.api.exchange import MAX_BODY_BYTES
from rgpu_exec.usecases.doctor import kube as doctor_kube
from rgpu_exec.usecases.doctor import network
from rgpu_exec.usecases.doctor.kuberc import kuberc_findings

from conftest import API_KEY, NAMESPACE_ID, CliRun, Ran, RunCli, rgpu_exec_user, write_kubeconfig
from emulator_support import RGPU_EXEC, Exchange, Harness, Kubectl, run
from exchange_answers import API, FakeApi, Reply, error_body

VENV_BIN = str(Path(sys.executable).parent)
PATH = os.pathsep.join([VENV_BIN, os.defpath])  # what `run_doctor` runs the doctor with
V1 = "client.authentication.k8s.io/v1"


def without_kubectl(sandbox: Path) -> str:
    """A PATH with rgpu-exec and no kubectl: the doctor's path when kubectl is not installed."""
    folder = sandbox / "bin-without-kubectl"
    folder.mkdir(exist_ok=True)
    link = folder / "rgpu-exec"
    if not link.exists():
        link.symlink_to(Path(VENV_BIN, "rgpu-exec"))
    return str(folder)


def run_doctor(run_cli: RunCli, env: dict[str, str], *args: str, path: str = PATH) -> CliRun:
    return run_cli(["doctor", *args], env={"PATH": path, **env})


def client_version(kubectl: str) -> str:
    """What this kubectl says its version is (asked without a kubeconfig, as the doctor asks)."""
    done = subprocess.run(
        [kubectl, "version", "--client", "--output=json"],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
        timeout=30,
        check=True,
    )
    return str(json.loads(done.stdout)["clientVersion"]["gitVersion"])


def findings(result: Ran) -> list[dict[str, Any]]:
    document = json.loads(result.stdout)
    assert document["ok"] is (result.returncode == 0)
    return list(document["findings"])


@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_a_cluster_nobody_can_reach_is_a_problem_even_when_all_else_is_well(
    run_cli, emulated_exchange: Exchange, sandbox
):
    # Whether kubectl works is the cluster's to say: k8s.example does not resolve, so kubectl
    # fails, and so does the doctor (it used to be green here). kubectl runs rgpu-exec as a
    # process: the API is the emulator.
    api = emulated_exchange
    user = rgpu_exec_user(namespace_id=api.namespace_id)
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": user})

    result = run_doctor(run_cli, {"REMOTEGPU_API_KEY": api.key, "REMOTEGPU_API_URL": api.url})

    assert result.returncode == 6, result.stdout
    out = result.stdout
    shown = api.key[:13] + "…"  # rgpu_ and the key's public id, as rgpu-exec shows a key
    assert f"key {shown} from REMOTEGPU_API_KEY" in out
    assert f"{api.url} is the RemoteGPU API: it asked for a key (HTTP 401" in out
    assert f"key {shown} (from REMOTEGPU_API_KEY): the API accepts it" in out
    assert api.asked(401) == 1
    assert "clock" in out
    kubectl = shutil.which("kubectl", path=PATH)  # the first kubectl on the doctor's PATH
    assert kubectl is not None
    version = client_version(kubectl)
    assert re.fullmatch(r"v1\.\d+\.\d+\S*", version), version
    # Its own row, aligned with "kubeconfig", the longest topic on screen.
    assert f"ok       kubectl     {kubectl} ({version})" in out.splitlines()
    assert f"runs {VENV_BIN}/rgpu-exec, namespace {api.namespace_id}" in out
    (problem,) = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    assert "cluster     context 'team-ml': the server's host name does not resolve" in problem
    assert "fix: check the cluster's server address" in out
    assert out.rstrip().endswith("rgpu-exec doctor: 1 problem(s) found.")
    assert api.key not in out + result.stderr
    assert "rgpu-k8s-" not in out + result.stderr  # no token the emulator issued


@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_every_problem_comes_with_its_fix_and_exit_6(run_cli, sandbox):
    cache = sandbox / "cache"
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    static = {**rgpu_exec_user(), "token": "static-token"}
    write_kubeconfig(
        sandbox / "kubeconfig",
        {
            "a-missing-command": rgpu_exec_user(command="./bin/rgpu-exec"),
            "b-no-interactive-mode": {
                "exec": {**rgpu_exec_user()["exec"], "interactiveMode": None}
            },
            "c-static-token": static,
            "d-no-namespace": rgpu_exec_user(namespace_id="team-ml"),
        },
    )
    (sandbox / "home" / ".kube").mkdir()
    (sandbox / "home" / ".kube" / "kuberc").write_text(
        "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\ncredentialPluginPolicy: DenyAll\n"
    )

    result = run_doctor(run_cli, {"REMOTEGPU_API_URL": "http://127.0.0.1:9"}, "--output", "json")

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
        "no keyring backend is usable on this machine",  # the detail up to its first colon
    ) in problems
    assert "is writable by other users" in details
    assert "cannot reach the RemoteGPU API at http://127.0.0.1:9" in details
    # The exec command kubectl cannot start, named with what kubectl then says (a path: no
    # installHint); worded "is not found" before the doctor told the two cases apart.
    assert "exec command './bin/rgpu-exec' is no longer there" in details
    assert "/bin/rgpu-exec: no such file or directory`" in details
    assert "no interactiveMode" in details
    assert "static `token` sits beside exec" in details
    assert "no valid --namespace-id ('team-ml')" in details
    assert "DenyAll stops kubectl from running rgpu-exec" in details
    assert all(f["fix"] for f in problems.values())
    text = run_doctor(run_cli, {"REMOTEGPU_API_URL": "http://127.0.0.1:9"})
    assert text.returncode == 6
    assert "fix: `chmod 700 " in text.stdout  # a command, in backticks as every fix's
    assert "fix: add `interactiveMode: Never` to the exec stanza" in text.stdout
    assert text.stdout.rstrip().endswith("problem(s) found.")


def test_kubectl_missing_from_path(run_cli, sandbox):
    env = {"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": "http://127.0.0.1:9"}
    result = run_doctor(run_cli, env, "-o", "json", path=str(sandbox))

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
    path = write_kubeconfig(
        sandbox / "kubeconfig",
        {
            "plain-http": rgpu_exec_user(command=f"{VENV_BIN}/rgpu-exec"),
            "curl": {"exec": {"apiVersion": V1, "interactiveMode": "Never", "command": "sh",
                              "args": ["-c", "curl -X POST https://api/v1/kubernetes/namespaces/x/exec-credential"]}},
        },
        server="http://k8s.example",
    )  # fmt: skip

    report = doctor_kube.inspect(str(path), {"PATH": VENV_BIN})
    found, commands = report.findings, report.commands

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

    (finding,) = kuberc_findings({"KUBERC": str(path), "PATH": VENV_BIN}, [plugin])

    assert finding.status == status
    assert words in finding.detail
    assert (finding.fix is not None) == (status == "problem")


def test_kuberc_off_or_absent_says_nothing(sandbox):
    assert kuberc_findings({"KUBERC": "off"}, []) == []
    assert kuberc_findings({"HOME": str(sandbox)}, []) == []


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
def test_clock_skew_from_the_date_header(api, offset, status):
    api.route().mock(
        side_effect=lambda _request: httpx.Response(
            401, headers=date_header(offset), json=MISSING_KEY
        )
    )

    finding, clock = network.api_findings(API, {})

    assert finding.status == "ok"
    assert clock.status == status
    if status == "problem":
        assert "ahead of" not in clock.detail
        assert re.search(r"(599|600|601) s behind the API's", clock.detail)  # Date has 1 s steps
        assert clock.fix


# How the RemoteGPU API answers an exchange without a key, and how a Kubernetes API server does.
MISSING_KEY = {"error": {"code": "missing_api_key", "message": "Missing API key"}}
KUBE_STATUS = {
    "kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Unauthorized",
    "reason": "Unauthorized", "code": 401,
}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        pytest.param(MISSING_KEY, "ok", "is the RemoteGPU API", id="the-api"),
        pytest.param(KUBE_STATUS, "problem", "a Kubernetes API server answered", id="kubernetes"),
        pytest.param({"detail": "no"}, "note", "not verified that it is the API", id="unknown"),
    ],
)
def test_the_probe_names_the_server_that_answered(api, body, status, words):
    api.route().mock(side_effect=lambda _request: httpx.Response(401, json=body))
    found = network.api_findings(API, {})
    assert found[0].status == status
    assert words in found[0].detail
    assert len(found) == (2 if status == "ok" else 1), "a clock only from the API's own answer"


def test_the_api_probe_never_sends_the_key(api):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401)

    api.route().mock(side_effect=answer)
    network.api_findings(API, {"REMOTEGPU_API_KEY": API_KEY})

    (request,) = seen
    assert request.method == "POST"
    assert request.url.path.endswith("/00000000-0000-0000-0000-000000000000/exec-credential")
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
    exchanged = emulator.exchanges()
    emulator.client.set_clock(offset=-900)  # the API's clock 15 minutes behind ours
    skewed = run([str(RGPU_EXEC), "doctor", "-o", "json"], env)

    assert well.returncode == 0, well.stdout
    kube = [f for f in findings(well) if f["topic"] == "kubeconfig"]
    assert [f["status"] for f in kube] == ["ok"]
    assert f"runs {RGPU_EXEC}, namespace team-ml ({team['id'][:8]}…)" in kube[0]["detail"]
    (cluster,) = [f for f in findings(well) if f["topic"] == "cluster"]
    assert cluster["status"] == "ok"
    assert (
        "the cluster accepts its token and allows listing pods in namespace team-ml"
        in (cluster["detail"])
    )
    validity = [f for f in findings(well) if f["topic"] == "API key" and "accepts" in f["detail"]]
    assert [f["status"] for f in validity] == ["ok"]
    # kubectl ran rgpu-exec as any command does: one exchange (the key's check issues none).
    assert exchanged == 1, emulator.client.stats()
    assert skewed.returncode == 6
    (clock,) = [f for f in findings(skewed) if f["topic"] == "clock"]
    assert clock["status"] == "problem"
    assert "ahead of the API's" in clock["detail"]


@pytest.mark.e2e
def test_doctor_asks_the_cluster_what_kubectl_would_meet(emulator: Harness, kubectl: Kubectl):
    # Each of these is what kubectl fails on, and the doctor used to call green.
    team, vision = emulator.namespace("team-ml"), emulator.namespace("team-vision")
    key = emulator.key({"kubernetes_exec": {"namespace_ids": [team["id"], vision["id"]]}})["key"]
    path = emulator.kubeconfig(team)
    env = {
        **emulator.plugin_env(key, REMOTEGPU_API_URL=emulator.ready.api_url),
        "PATH": os.pathsep.join([str(Path(kubectl.path).parent), os.defpath]),
    }
    doctor = [str(RGPU_EXEC), "doctor", "-o", "json"]
    context = team["name"]  # the harness names each context after its namespace

    # The kubens habit: the namespace switched, the token still the old namespace's.
    run([kubectl.path, "config", "set-context", context, "--namespace", "team-vision"], env)
    switched = run(doctor, env)
    (found,) = [f for f in findings(switched) if f["topic"] == "cluster"]
    assert switched.returncode == 6
    assert found["status"] == "problem"
    assert "forbids listing pods in namespace team-vision" in found["detail"]
    assert "gets tokens for team-ml" in found["detail"]
    assert f"kubectl config set-context {context} --namespace team-ml" in found["fix"]
    run([kubectl.path, "config", "set-context", context, "--namespace", "team-ml"], env)

    # A server on the wrong port, then a cluster without its CA.
    text = path.read_text()
    server = emulator.ready.kube_server
    path.write_text(text.replace(server, server.rsplit(":", 1)[0] + ":9"))
    refused = run(doctor, env)
    (found,) = [f for f in findings(refused) if f["topic"] == "cluster"]
    assert refused.returncode == 6
    assert "the server refused the connection" in found["detail"]
    path.write_text("\n".join(
        line for line in text.splitlines() if "certificate-authority-data" not in line
    ))  # fmt: skip
    untrusted = run(doctor, env)
    (found,) = [f for f in findings(untrusted) if f["topic"] == "cluster"]
    assert untrusted.returncode == 6
    assert "does not trust the server's certificate" in found["detail"]
    assert "--certificate-authority-data" in found["fix"]


# The access check: one exchange for the current context, with the key it would use.


def fake_env(fake: FakeApi, **extra: str) -> dict[str, str]:
    return {"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": fake.url, **extra}


def problems_of(result: Ran) -> list[dict[str, Any]]:
    return [f for f in findings(result) if f["status"] == "problem"]


@pytest.mark.parametrize(
    ("reply", "detail", "fix"),
    [
        pytest.param(
            Reply(
                401, error_body("revoked_api_key", "Missing, invalid, revoked, or expired API key")
            ),
            "rejected the API key rgpu_3f9a2c1b…: the key has been revoked (revoked_api_key).",
            "create a key with Kubernetes access in Settings / API Keys, then put it in REMOTEGPU_API_KEY",
            id="revoked-key",
        ),
        pytest.param(
            Reply(
                403, error_body("forbidden", "The API key's scope does not cover this namespace")
            ),
            f"the key rgpu_3f9a2c1b… (from REMOTEGPU_API_KEY) may not use namespace {NAMESPACE_ID} "
            "(HTTP 403: forbidden: The API key's scope does not cover this namespace)",
            "give the key a kubernetes_exec scope that covers the namespace",
            id="out-of-scope",
        ),
        pytest.param(
            Reply(404, error_body("namespace_not_found", "No such namespace")),
            f"namespace {NAMESPACE_ID} does not exist in the account of the key rgpu_3f9a2c1b…",
            "check the --namespace-id in the context's exec args against the console",
            id="no-such-namespace",
        ),
    ],
)
def test_a_refused_exchange_is_a_problem_with_the_platforms_reason(
    run_cli, fake_api, sandbox, reply, detail, fix
):
    # Without kubectl the doctor asks the API itself (one exchange per context); the key's own
    # check comes first, and a rejected key is not tried again.
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": rgpu_exec_user()})
    fake_api.default = reply

    result = run_doctor(run_cli, fake_env(fake_api), "-o", "json", path=without_kubectl(sandbox))

    assert result.returncode == 6, result.stdout
    (problem,) = [p for p in problems_of(result) if p["topic"] != "kubectl"]
    rejected_key = reply.status == 401
    assert problem["topic"] == ("API key" if rejected_key else "access")
    assert problem["detail"].startswith(
        "key rgpu_3f9a2c1b… (from REMOTEGPU_API_KEY): " if rejected_key else "context 'team-ml': "
    )
    assert detail in problem["detail"]
    assert fix in problem["fix"]
    assert fake_api.count == (1 if rejected_key else 2)  # the key's check, then the context's
    assert not (sandbox / "cache").exists()
    assert API_KEY not in result.stdout + result.stderr


def test_every_context_is_checked_with_its_own_namespace(run_cli, fake_api, sandbox):
    other = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
    write_kubeconfig(
        sandbox / "kubeconfig",
        {"team-ml": rgpu_exec_user(), "a-other": rgpu_exec_user(namespace_id=other)},
    )

    result = run_doctor(run_cli, fake_env(fake_api), path=without_kubectl(sandbox))

    assert [r["path"] for r in fake_api.requests] == [
        f"/v1/kubernetes/namespaces/{namespace}/exec-credential"
        for namespace in ("00000000-0000-0000-0000-000000000000", other, NAMESPACE_ID)
    ]
    assert "context 'a-other': not verified: kubectl is not on PATH" in result.stdout
    assert "context 'team-ml': not verified: kubectl is not on PATH" in result.stdout


@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_a_bad_deadline_is_a_problem_and_no_exchange_is_tried(run_cli, fake_api, sandbox):
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": rgpu_exec_user()})

    result = run_doctor(run_cli, fake_env(fake_api, RGPU_EXEC_DEADLINE="abc"), "-o", "json")

    assert result.returncode == 6
    (problem,) = problems_of(result)
    assert problem["topic"] == "settings"
    assert "RGPU_EXEC_DEADLINE='abc' is not a number of seconds" in problem["detail"]
    assert "unset RGPU_EXEC_DEADLINE" in problem["fix"]
    (access,) = [f for f in findings(result) if f["topic"] == "access"]
    assert access["status"] == "note"
    assert fake_api.count == 0


@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_settings_in_the_exec_stanzas_env_are_checked_too(run_cli, fake_api, sandbox):
    user = rgpu_exec_user()
    user["exec"]["env"] = [{"name": "RGPU_EXEC_DEADLINE", "value": "0"}]
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": user})

    result = run_doctor(run_cli, fake_env(fake_api), "-o", "json")

    assert result.returncode == 6
    (problem,) = problems_of(result)
    assert problem["detail"] == (
        "RGPU_EXEC_DEADLINE='0' is not a number of seconds between 0.1 and 300, so "
        "`rgpu-exec token` refuses to run (in context 'team-ml''s exec env)"
    )
    # Only the key's own check (no token issued); nothing for the context kubectl cannot use.
    assert [r["path"] for r in fake_api.requests] == [
        "/v1/kubernetes/namespaces/00000000-0000-0000-0000-000000000000/exec-credential"
    ]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(lambda _path: None, "which does not exist", id="missing"),
        pytest.param(lambda path: path.mkdir(), "which is not a file", id="directory"),
        pytest.param(
            lambda path: path.write_text("not a certificate\n"),
            "which holds no usable PEM certificate",
            id="not-pem",
        ),
    ],
)
@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_a_bad_ca_bundle_is_named_with_its_fix(run_cli, fake_api, sandbox, make, words):
    bundle = sandbox / "private-ca.pem"
    make(bundle)
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": rgpu_exec_user()})

    result = run_doctor(run_cli, fake_env(fake_api, REMOTEGPU_CA_BUNDLE=str(bundle)), "-o", "json")

    assert result.returncode == 6
    settings_problem = next(f for f in problems_of(result) if f["topic"] == "settings")
    assert settings_problem["detail"].startswith(f"REMOTEGPU_CA_BUNDLE names {bundle}, {words}")
    assert "point REMOTEGPU_CA_BUNDLE at the PEM file" in settings_problem["fix"]
    assert all(f["fix"] for f in problems_of(result))
    assert fake_api.count == 0


def test_every_api_url_the_contexts_use_is_probed(run_cli, fake_api, sandbox):
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    user = rgpu_exec_user()
    user["exec"]["args"] += ["--api-url", dead]
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": user})

    result = run_doctor(run_cli, fake_env(fake_api), "-o", "json", path=without_kubectl(sandbox))

    assert result.returncode == 6
    api = [f for f in findings(result) if f["topic"] == "API"]
    assert [f["status"] for f in api] == ["ok", "problem"]
    assert f"cannot reach the RemoteGPU API at {dead}" in api[1]["detail"]
    assert "context 'team-ml'" in api[1]["fix"]
    (access,) = [f for f in findings(result) if f["topic"] == "access"]
    assert access == {
        "topic": "access",
        "status": "note",
        "detail": f"context 'team-ml': not tried: the API at {dead} did not answer (above)",
        "fix": None,
    }


def test_no_rgpu_exec_context_points_at_the_generator(sandbox):
    path = write_kubeconfig(sandbox / "kubeconfig", {"other": {"token": "static"}})

    report = doctor_kube.inspect(str(path), {})
    (finding,), commands = report.findings, report.commands

    assert finding.status == "note"
    assert "`rgpu-exec kubeconfig generate`" in str(finding.fix)
    # No FILE placeholder: the fix says where the file comes from instead.
    assert "convert the console's kubeconfig download with `rgpu-exec kubeconfig import`" in str(
        finding.fix
    )
    assert commands == []


def test_without_a_keyring_the_key_fix_is_the_environment(run_cli, sandbox):
    # The sandbox's keyring backend is keyring.backends.fail: no usable keyring. (No kubectl on
    # PATH: it has no say in the key's fix.)
    env = {"REMOTEGPU_API_URL": "http://127.0.0.1:9"}
    result = run_doctor(run_cli, env, "-o", "json", path=without_kubectl(sandbox))

    (key,) = [f for f in findings(result) if f["topic"] == "API key"]
    assert key["status"] == "problem"
    assert key["fix"].startswith("export REMOTEGPU_API_KEY")
    # A keyring login would fail here: only the key file of --insecure-storage is offered.
    assert "login --insecure-storage" in key["fix"]
    assert "login --profile" not in key["fix"]


@pytest.mark.parametrize(
    ("content", "detail", "fix"),
    [
        pytest.param(
            None,
            "(--kubeconfig) does not exist",
            "check the path, or write that file: give --kubeconfig",
            id="missing-file",
        ),
        pytest.param(
            "- a\n- list\n",
            "is not a kubeconfig (its top level is a YAML list, not a mapping)",
            "fix or remove it",
            id="top-level-list",
        ),
    ],
)
def test_kubeconfig_file_problems_come_with_a_fix(sandbox, content, detail, fix):
    path = sandbox / "given.yaml"
    if content is not None:
        path.write_text(content)

    (finding,) = doctor_kube.inspect(str(path), {"HOME": str(sandbox)}).findings

    assert finding.status == "problem"
    assert detail in finding.detail
    assert finding.fix is not None
    assert fix in finding.fix


def test_output_is_table_or_json_as_in_every_command(run_cli, sandbox):
    env = {"REMOTEGPU_API_URL": "http://127.0.0.1:9"}
    path = without_kubectl(sandbox)  # kubectl has no say in the output's format
    table = run_doctor(run_cli, env, "-o", "table", path=path)
    text = run_doctor(run_cli, env, "--output", "text", path=path)
    help_text = run_doctor(run_cli, env, "--help", path=path)

    assert table.returncode == 6
    assert table.stdout.rstrip().endswith("problem(s) found.")
    assert text.returncode == 2  # one set of -o values everywhere, without aliases
    # argparse before 3.13 repeats the choices for each spelling of the option; 3.13 names them once
    assert (
        "-o {table,json,yaml}, --output {table,json,yaml}" in help_text.stdout
        or "-o, --output {table,json,yaml}" in help_text.stdout
    )
    assert "spends one exchange" in " ".join(help_text.stdout.split())


@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_a_failure_being_replayed_is_noted(run_cli, fake_api, sandbox, run_token_in_process):
    fake_api.default = Reply(401, error_body("revoked_api_key", "revoked"))
    assert (
        run_token_in_process().returncode == 3
    )  # recorded: kubectl's reruns get it again for a while
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": rgpu_exec_user()})

    result = run_doctor(run_cli, fake_env(fake_api), "-o", "json")

    notes = [f for f in findings(result) if f["topic"] == "cache" and f["status"] == "note"]
    assert len(notes) == 1
    assert "a failure is replayed to kubectl" in notes[0]["detail"]
    assert "rejected the API key rgpu_3f9a2c1b…" in notes[0]["detail"]


@pytest.mark.e2e
def test_doctor_reports_a_revoked_key_and_an_unscoped_namespace(emulator: Harness):
    team, other = emulator.namespace("team-ml"), emulator.namespace("other")
    scoped = emulator.namespace_key(team)
    emulator.kubeconfig(other, team)  # current context: other, which the key is not scoped for
    env = emulator.plugin_env(scoped["key"], PATH=os.pathsep.join([VENV_BIN, os.defpath]))

    unscoped = run([str(RGPU_EXEC), "doctor", "-o", "json"], env)
    emulator.client.revoke_key(scoped["id"])
    revoked = run([str(RGPU_EXEC), "doctor", "-o", "json"], env)

    assert unscoped.returncode == 6, unscoped.stdout
    (denied,) = [f for f in findings(unscoped) if f["status"] == "problem"]
    assert denied["topic"] == "cluster"  # kubectl ran rgpu-exec, which the API refused
    assert f"may not get credentials for namespace other ({other['id'][:8]}…)" in denied["detail"]
    (fine,) = [f for f in findings(unscoped) if f["topic"] == "cluster" and f["status"] == "ok"]
    assert "context 'team-ml'" in fine["detail"]
    assert revoked.returncode == 6
    (rejected,) = [f for f in findings(revoked) if f["status"] == "problem"]
    assert rejected["topic"] == "API key"
    assert "rejected the API key" in rejected["detail"]
    assert rejected["fix"].startswith("create a key with Kubernetes access")
    assert scoped["key"] not in unscoped.stdout + revoked.stdout


def test_the_api_probe_reads_no_more_than_the_exchange_would_and_has_a_timeout(api):
    chunk = b"x" * 65536
    sent: list[int] = []
    seen: list[httpx.Request] = []

    def endless() -> Iterator[bytes]:
        while True:
            sent.append(len(chunk))
            yield chunk

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, content=endless())

    api.route().mock(side_effect=answer)
    (finding,) = network.api_findings(API, {})

    assert finding.status == "note", "an endless body is not the API's answer: not verified"
    assert MAX_BODY_BYTES < sum(sent) <= MAX_BODY_BYTES + len(chunk)
    (request,) = seen
    timeout = request.extensions["timeout"]
    assert timeout["connect"] == timeout["read"] == network.PROBE_TIMEOUT


def test_problems_only_shows_just_the_problems_with_the_same_exit_code(run_cli, sandbox):
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": rgpu_exec_user(namespace_id="not-a-uuid")})
    env = {"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": "http://127.0.0.1:9"}
    path = without_kubectl(sandbox)  # kubectl has no say in which findings are problems

    everything = run_doctor(run_cli, env, "-o", "json", path=path)
    problems = run_doctor(run_cli, env, "--problems-only", path=path)
    as_json = run_doctor(run_cli, env, "--problems-only", "-o", "json", path=path)

    assert everything.returncode == problems.returncode == as_json.returncode == 6
    listed = json.loads(everything.stdout)["findings"]
    wanted = [f for f in listed if f["status"] == "problem"]
    assert 0 < len(wanted) < len(listed)
    assert json.loads(as_json.stdout) == {"ok": False, "findings": wanted}
    lines = [line for line in problems.stdout.splitlines() if line and not line.startswith(" ")]
    assert all(line.startswith("PROBLEM") for line in lines[:-1]), problems.stdout
    assert lines[-1] == f"rgpu-exec doctor: {len(wanted)} problem(s) found."
    assert "ok  " not in problems.stdout


def test_doctor_shows_a_namespace_by_name_with_its_id_after_it(run_cli, fake_api, sandbox):
    path = write_kubeconfig(sandbox / "kubeconfig", {"team-ml": rgpu_exec_user()})
    document = json.loads(path.read_text())
    document["contexts"][0]["context"]["namespace"] = "team-ml"
    path.write_text(json.dumps(document))

    bin_dir = without_kubectl(sandbox)
    result = run_doctor(run_cli, fake_env(fake_api), path=bin_dir)

    assert f"runs {bin_dir}/rgpu-exec, namespace team-ml ({NAMESPACE_ID[:8]}…)" in result.stdout
    assert f"may use namespace team-ml ({NAMESPACE_ID[:8]}…)" in result.stdout


@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_the_key_goes_only_where_kubectl_would_send_it(
    run_cli, emulated_exchange: Exchange, sandbox
):
    # A v1 stanza without interactiveMode: kubectl never runs it, so neither its API nor its
    # key is tried (the key is never sent, not even the keyless probe goes there), by the doctor
    # or by a plugin kubectl would start: the API is the emulator, which sees both.
    api = emulated_exchange
    user = rgpu_exec_user(namespace_id=api.namespace_id)
    user["exec"]["interactiveMode"] = None
    user["exec"]["args"] += ["--api-url", api.url]
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": user})

    result = run_doctor(run_cli, {"REMOTEGPU_API_KEY": api.key}, "-o", "json")

    assert result.returncode == 6
    (access,) = [f for f in findings(result) if f["topic"] == "access"]
    assert access["status"] == "note"
    assert "not tried: kubectl refuses its exec stanza or server" in access["detail"]
    assert api.count == 0
    assert api.asked() == 0


@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_a_tls_key_log_file_is_noted(run_cli, sandbox, fake_api):
    log = sandbox / "keys.log"
    result = run_doctor(run_cli, {**fake_env(fake_api), "SSLKEYLOGFILE": str(log)}, "-o", "json")

    (note,) = [f for f in findings(result) if "SSLKEYLOGFILE" in f["detail"]]
    assert note["status"] == "note"
    assert "rgpu-exec never writes to it" in note["detail"]
    assert not log.exists(), "the key check and probe wrote no session keys"
