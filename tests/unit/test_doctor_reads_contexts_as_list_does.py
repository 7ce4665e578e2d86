"""doctor reads the kubeconfig's contexts through the same model as `kubeconfig list`, check and
whoami (`listing.managed_call`): a context the one lists, the other inspects."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rgpu_exec.kubeconfig import listing
from rgpu_exec.kubeconfig.entries import INSTALL_HINT_START
from rgpu_exec.usecases.doctor import kube

from conftest import NAMESPACE_ID, rgpu_exec_user, write_kubeconfig

if TYPE_CHECKING:
    from pathlib import Path


def _wrapped_kubeconfig(path: Path) -> Path:
    """One context as `generate --exec-command /opt/wrap/rgpu` writes it: a command of another
    name, `token --namespace-id` and generate's installHint."""
    args = ["token", "--namespace-id", NAMESPACE_ID, "--namespace", "team-ml"]
    user = rgpu_exec_user(
        "/opt/wrap/rgpu", args=args, installHint=f"{INSTALL_HINT_START}team-ml. Install it."
    )
    return write_kubeconfig(
        path, {"u": user}, {"rgpu-team-ml": {"user": "u", "namespace": "team-ml"}}
    )


def test_doctor_inspects_a_context_written_with_another_exec_command(tmp_path: Path) -> None:
    path = str(_wrapped_kubeconfig(tmp_path / "config"))
    _, listed = listing.load(path, {})
    report = kube.inspect(path, {})
    assert [c.name for c in listed] == ["rgpu-team-ml"]
    assert [c.name for c in report.contexts] == [c.name for c in listed]
    assert not [f for f in report.findings if "no context" in f.detail]


def test_doctor_and_list_leave_out_the_same_foreign_exec(tmp_path: Path) -> None:
    path = _wrapped_kubeconfig(tmp_path / "config")
    document = json.loads(path.read_text())
    del document["users"][0]["user"]["exec"]["installHint"]  # args alone prove nothing
    path.write_text(json.dumps(document))
    _, listed = listing.load(str(path), {})
    assert listed == []
    assert kube.inspect(str(path), {}).contexts == []
