"""What the results say about the machine and the tools they were measured with."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from typing import Any

from bench.sandbox import GKE_PLUGIN, V1, tool


def load() -> float | None:
    """The 1-minute load average."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:  # noqa: PTH123 - a plain read
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    os_name = f"{platform.system()} {platform.release()}"
    try:
        release = platform.freedesktop_os_release()
        os_name = f"{release.get('PRETTY_NAME', release.get('NAME', ''))}, {os_name}"
    except (OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": os_name,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load_start": load(),
    }


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def versions(kubectl: str | None) -> dict[str, str | None]:
    """kubectl's client version, curl's, and gke-gcloud-auth-plugin's (None when absent)."""
    kubectl_version = None
    if kubectl:
        done = subprocess.run(
            [kubectl, "version", "--client", "-o", "json"],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        try:
            kubectl_version = json.loads(done.stdout)["clientVersion"]["gitVersion"]
        except (ValueError, KeyError):
            kubectl_version = _first_line([kubectl, "version", "--client"]) or None
    curl, gke = tool("curl"), tool(GKE_PLUGIN)
    curl_words = _first_line([curl, "--version"]).split() if curl else []
    gke_words = _first_line([gke, "--version"]).split() if gke else []
    return {
        "kubectl": kubectl_version,
        "curl": curl_words[1] if len(curl_words) > 1 else None,
        # It prints "Kubernetes v1.30.0+<commit>": keep the version.
        GKE_PLUGIN: gke_words[-1].split("+")[0] if gke_words else None,
        "exec_api_version": V1,
    }
