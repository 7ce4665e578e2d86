"""The use case of `rgpu-exec version`: what a bug report needs to know about this installation.

rgpu-exec's version, the Python that runs it, the platform, where the package is installed, the
versions of the libraries it depends on, and which of its settings the environment sets (by
name: a value may be a secret, and none is ever read here but for being set). Never a key.
Light: it imports no service and no third-party package (versions come from the names of the
installed metadata folders, without importing the libraries, nor importlib.metadata).
"""

from __future__ import annotations

import platform
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import __version__
from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Mapping

# The libraries a bug may lie in: rgpu-exec's own dependencies (pyproject.toml).
DEPENDENCIES = (
    "httpx", "httpcore", "certifi", "pydantic", "pydantic-core", "platformdirs", "filelock",
    "keyring", "ruamel.yaml", "PyYAML",
)  # fmt: skip
# The variables that change what rgpu-exec does: reported by name when set, never by value.
SETTINGS = (
    settings.ENV_API_KEY, settings.ENV_API_URL, settings.ENV_CA_BUNDLE, settings.ENV_PROFILE,
    settings.ENV_CACHE_DIR, settings.ENV_LOG, settings.ENV_DEADLINE, settings.ENV_SSL_CERT_FILE,
    settings.ENV_SSL_CERT_DIR, settings.ENV_SSL_KEY_LOG, settings.ENV_KEYRING_BACKEND,
    settings.ENV_KUBECONFIG, settings.ENV_KUBERC, settings.ENV_NO_COLOR,
)  # fmt: skip


@dataclass(frozen=True)
class VersionRequest:
    """`version` takes no input but its output form: the request is empty."""


@dataclass(frozen=True)
class VersionResult:
    version: str
    python: str  # e.g. "3.12.3 (CPython)"
    python_executable: str
    platform: str  # the system and its release, e.g. "Linux 6.8.0"
    machine: str
    package: str  # where rgpu_exec is installed
    dependencies: dict[str, str | None] = field(default_factory=dict)  # None: not installed
    settings_set: tuple[str, ...] = ()  # the names of SETTINGS set in the environment

    def document(self) -> dict[str, object]:
        """The `-o json` / `-o yaml` document (docs/json-output.md)."""
        return {
            "version": self.version,
            "python": self.python,
            "python_executable": self.python_executable,
            "platform": self.platform,
            "machine": self.machine,
            "package": self.package,
            "dependencies": dict(self.dependencies),
            "settings_set": list(self.settings_set),
        }


def run(_request: VersionRequest, environ: Mapping[str, str]) -> VersionResult:
    import rgpu_exec  # noqa: PLC0415 - for its location only

    return VersionResult(
        version=__version__,
        python=f"{platform.python_version()} ({platform.python_implementation()})",
        python_executable=sys.executable,
        # Not platform.platform(): it runs `uname -p`, a process, for the processor's name.
        platform=f"{platform.system()} {platform.release()}",
        machine=platform.machine(),
        package=str(rgpu_exec.__path__[0]),
        dependencies=installed_versions(DEPENDENCIES, sys.path),
        settings_set=tuple(name for name in SETTINGS if environ.get(name)),
    )


def installed_versions(
    distributions: tuple[str, ...], search_path: list[str]
) -> dict[str, str | None]:
    """Each distribution's installed version (None: not found), read from the names of the
    `<name>-<version>.dist-info` folders on the search path, the first found winning as for an
    import. Not importlib.metadata: importing it costs more than the rest of the command."""
    wanted = {_canonical(name): name for name in distributions}
    found: dict[str, str | None] = dict.fromkeys(distributions)
    for folder in search_path:
        try:
            names = [path.name for path in Path(folder or ".").iterdir()]
        except OSError:
            continue
        for entry in names:
            stem = entry.removesuffix(".dist-info")
            name, sep, version = stem.partition("-")
            original = wanted.get(_canonical(name))
            if stem != entry and sep and original is not None and found[original] is None:
                found[original] = version
    return found


def _canonical(name: str) -> str:
    """A distribution's name as PEP 503 compares them: `ruamel_yaml` is `ruamel.yaml`."""
    return re.sub(r"[-_.]+", "-", name).lower()
