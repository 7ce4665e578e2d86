"""`rgpu-exec doctor`'s kuberc check: kubectl 1.35+ may restrict credential plugins with
`credentialPluginPolicy` in kuberc (`$KUBERC`, else ~/.kube/kuberc; `KUBERC=off` turns it off):
`DenyAll` stops rgpu-exec, `Allowlist` must name the executables the contexts run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec.hotpath import settings
from rgpu_exec.kubeconfig import view as kubeconfig_view
from rgpu_exec.usecases.doctor.findings import Finding

if TYPE_CHECKING:
    from collections.abc import Mapping


def kuberc_findings(environ: Mapping[str, str], commands: list[str]) -> list[Finding]:
    """kubectl 1.35+'s credential plugin policy, when a kuberc sets one."""
    chosen = settings.kuberc(environ)
    if chosen.lower() == "off":
        return []
    path = str(
        Path(chosen).expanduser().absolute()
        if chosen
        else kubeconfig_view.home(environ) / ".kube" / "kuberc"
    )
    try:
        document = kubeconfig_view.load_yaml(path)
    except kubeconfig_view.UnreadableFileError as exc:
        return [Finding("kuberc", "problem", exc.detail, exc.fix)]
    if not isinstance(document, dict):
        return []
    policy = document.get("credentialPluginPolicy") or "AllowAll"
    edit = f"edit {path}"
    if policy == "AllowAll":
        return [Finding("kuberc", "ok", f"{path}: credential plugins allowed (AllowAll)")]
    if policy == "DenyAll":
        return [
            Finding(
                "kuberc",
                "problem" if commands else "note",
                f"{path}: credentialPluginPolicy DenyAll stops kubectl from running rgpu-exec",
                f"{edit}: set `credentialPluginPolicy: Allowlist` and allow rgpu-exec",
                "plugins-denied",
                {"kuberc": path},
            )
        ]
    if policy != "Allowlist":
        return [
            Finding(
                "kuberc",
                "problem",
                f"{path}: unknown credentialPluginPolicy {policy!r}",
                f"{edit}: use AllowAll, DenyAll or Allowlist",
            )
        ]
    allowed = set()
    for item in document.get("credentialPluginAllowlist") or []:
        name = str(item.get("name", "")) if isinstance(item, dict) else ""
        found = (
            name
            if Path(name).is_absolute()
            else shutil.which(name, path=settings.search_path(environ))
        )
        if found:
            allowed.add(Path(found).resolve())
    missing = sorted({c for c in commands if Path(c).resolve() not in allowed})
    if missing:
        entries = " and ".join(f"`- name: {c}`" for c in missing)
        return [
            Finding(
                "kuberc",
                "problem",
                f"{path}: the credential plugin allowlist does not allow {', '.join(missing)}",
                f"{edit}: add {entries} under credentialPluginAllowlist",
            )
        ]
    return [Finding("kuberc", "ok", f"{path}: rgpu-exec is on the credential plugin allowlist")]
