"""A keyring backend for tests: a JSON file named by $TEST_KEYRING_FILE, with a call log.

Selected with PYTHON_KEYRING_BACKEND=file_keyring.FileKeyring (tests/ on PYTHONPATH), so that
subprocesses share it. Every call appends a line to $TEST_KEYRING_FILE.calls, so tests can prove
that a cache hit never touches the keyring.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    @property
    def _path(self) -> Path:
        return Path(os.environ["TEST_KEYRING_FILE"])

    def _log(self, call: str) -> None:
        with self._path.with_suffix(".calls").open("a") as log:
            log.write(call + "\n")

    def _load(self) -> dict[str, str]:
        return json.loads(self._path.read_text()) if self._path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        self._log(f"get {service} {username}")
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._log(f"set {service} {username}")
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        self._log(f"delete {service} {username}")
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError(username)
        self._path.write_text(json.dumps(data))


def calls(path: Path) -> list[str]:
    log = path.with_suffix(".calls")
    return log.read_text().splitlines() if log.exists() else []


class PlaintextFileKeyring(FileKeyring):
    """The same file keyring, named as a plaintext backend (as keyrings.alt's are)."""
