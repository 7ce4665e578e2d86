"""The doctor decides on what its findings are about (their kind and values), never by reading
their wording back: a path with `" ("` in it, or a word of a message in a file name, changes
nothing of what it runs or tries."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from rgpu_exec.hotpath import settings
from rgpu_exec.kubeconfig.view import PluginCall
from rgpu_exec.usecases.doctor import access, cluster, local
from rgpu_exec.usecases.doctor.findings import Finding, of_kind
from rgpu_exec.usecases.doctor.kube import PluginContext
from rgpu_exec.usecases.doctor.kuberc import kuberc_findings

from conftest import API_KEY, NAMESPACE_ID, rgpu_exec_user, write_kubeconfig

VENV_BIN = str(Path(sys.executable).parent)


def executable(path: Path, script: str) -> Path:
    path.write_text(script)
    path.chmod(0o755)
    return path


def rgpu_exec_only(sandbox: Path) -> Path:
    """A folder with rgpu-exec and nothing else (no kubectl)."""
    folder = sandbox / "bin-rgpu-exec"
    folder.mkdir()
    (folder / "rgpu-exec").symlink_to(Path(VENV_BIN, "rgpu-exec"))
    return folder


def findings(stdout: str) -> list[dict[str, Any]]:
    return list(json.loads(stdout)["findings"])


@pytest.mark.slow  # the doctor runs a kubectl script
def test_a_kubectl_under_a_folder_with_parentheses_is_the_one_run(run_cli, fake_api, sandbox):
    # `My Tools (x86)/kubectl (v1.99.0)` was split at " (" back into `My Tools`: that file ran.
    marks = sandbox / "marks"
    marks.mkdir()
    tools = sandbox / "My Tools (x86)"
    tools.mkdir()
    executable(
        tools / "kubectl",
        "#!/bin/sh\n"
        'case "$1" in\n'
        '  version) echo \'{"clientVersion": {"gitVersion": "v1.99.0"}}\' ;;\n'
        '  auth) : > "$MARKS/right"; echo yes ;;\n'
        "esac\n",
    )
    executable(sandbox / "My Tools", '#!/bin/sh\n: > "$MARKS/wrong"\necho yes\n')
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": rgpu_exec_user()})
    path = f"{tools}:{rgpu_exec_only(sandbox)}"
    env = {"PATH": path, "MARKS": str(marks), "REMOTEGPU_API_KEY": API_KEY}

    result = run_cli(["doctor", "-o", "json"], env={**env, "REMOTEGPU_API_URL": fake_api.url})

    found = findings(result.stdout)
    (kubectl,) = [f for f in found if f["topic"] == "kubectl"]
    assert kubectl["detail"] == f"{tools}/kubectl (v1.99.0)"
    (asked,) = [f for f in found if f["topic"] == "cluster"]
    assert asked["status"] == "ok", asked
    assert (marks / "right").exists()
    assert not (marks / "wrong").exists()


def test_a_kuberc_whose_path_says_denyall_does_not_stop_the_doctor_trying(
    run_cli, fake_api, sandbox
):
    # The policy is Allowlist; only the folder is called DenyAll. The word in the path used to
    # count as the policy, and every context was left untried.
    kuberc = sandbox / "DenyAll" / "kuberc"
    kuberc.parent.mkdir()
    kuberc.write_text(
        "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n"
        "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist: []\n"
    )
    write_kubeconfig(sandbox / "kubeconfig", {"team-ml": rgpu_exec_user()})
    env = {
        "PATH": str(rgpu_exec_only(sandbox)),
        "KUBERC": str(kuberc),
        "REMOTEGPU_API_KEY": API_KEY,
        "REMOTEGPU_API_URL": fake_api.url,
    }

    result = run_cli(["doctor", "-o", "json"], env=env)

    found = findings(result.stdout)
    (policy,) = [f for f in found if f["topic"] == "kuberc"]
    assert policy["status"] == "problem"
    assert "DenyAll" in policy["detail"]  # the path, shown as it is
    (tried,) = [f for f in found if f["topic"] == "access"]
    assert "denies credential plugins" not in tried["detail"]
    assert "may use namespace" in tried["detail"], tried


def test_a_real_denyall_is_known_by_its_kind(sandbox):
    kuberc = sandbox / "kuberc"
    kuberc.write_text("credentialPluginPolicy: DenyAll\n")
    found = kuberc_findings({"KUBERC": str(kuberc)}, ["/usr/bin/rgpu-exec"])

    (denied,) = of_kind(found, "plugins-denied", "problem")
    assert denied.about == {"kuberc": str(kuberc)}


def test_a_ca_setting_that_does_not_load_is_known_by_its_kind_and_values(sandbox):
    missing = str(sandbox / "no-such-ca.pem")

    found = local.settings_findings({settings.ENV_CA_BUNDLE: missing})

    (ca,) = of_kind(found, "ca-file-unusable")
    assert ca.about == {"variable": settings.ENV_CA_BUNDLE, "path": missing}


def context(environ: dict[str, str]) -> PluginContext:
    call = PluginCall("rgpu-exec", NAMESPACE_ID, None, None)
    return PluginContext("team-ml", call, environ, settings.DEFAULT_API_URL, True)


def test_a_setting_listed_above_is_not_listed_again_however_it_was_worded():
    environ = {settings.ENV_DEADLINE: "0"}
    (listed,) = local.settings_findings(environ)
    reworded = Finding(
        listed.topic, "problem", "worded otherwise", listed.fix, listed.kind, listed.about
    )

    found = access.context_findings(
        context(environ),
        environ,
        listed=[reworded],
        unreachable=set(),
        profile=None,
        ask_cluster=None,
    )

    assert [f.detail for f in found] == [
        "context 'team-ml': not tried: fix the settings above first"
    ]


def test_a_setting_with_another_value_is_listed_even_when_the_wording_matches():
    environ = {settings.ENV_DEADLINE: "0"}
    (own,) = local.settings_findings(environ)
    # The same words about another value: not the same problem.
    other = Finding(
        own.topic, "problem", own.detail, own.fix, own.kind, {**own.about, "value": "x"}
    )

    found = access.context_findings(
        context(environ), environ, listed=[other], unreachable=set(), profile=None, ask_cluster=None
    )

    assert [f.detail for f in found] == [f"{own.detail} (in context 'team-ml''s exec env)"]


def test_the_fix_for_a_kubectl_failure_follows_the_kind_of_its_cause():
    found = context({})
    untrusted = cluster._failed(found, "Unable to connect: x509: certificate is not valid\n")
    rejected = cluster._failed(found, "error: You must be logged in (Unauthorized)\n")
    unreachable = cluster._failed(found, "dial tcp: lookup k8s.example: no such host\n")

    assert untrusted.fix is not None
    assert "give the cluster its CA" in untrusted.fix
    assert rejected.fix is not None
    assert "rgpu-exec replaces a token" in rejected.fix
    assert (
        unreachable.fix
        == "check the cluster's server address in the kubeconfig against the console's file"
    )
