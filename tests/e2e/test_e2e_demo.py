"""`make demo` (`python -m rgpu_emulator.demo`): tells the story, leaves nothing behind."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from emulator_support import KUBECTLS, run

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # runs the demo: the emulator, rgpu-exec and kubectl
    pytest.mark.skipif(not KUBECTLS, reason="no kubectl found"),
]


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(args)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_demo_shows_the_story_and_leaves_nothing_behind(tmp_path: Path):
    tmpdir, home = tmp_path / "tmp", tmp_path / "home-of-the-user"
    tmpdir.mkdir()
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("untouched\n")
    env = {**os.environ, "TMPDIR": str(tmpdir), "HOME": str(home)}
    env.pop("KUBECONFIG")
    env.pop("RGPU_EXEC_CACHE_DIR")

    result = run([sys.executable, "-m", "rgpu_emulator.demo"], env, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "configmap/hello created" in out
    assert "added context 'rgpu-team-ml'" in out, "the kubeconfig comes from the generator"
    assert "verification failed, so nothing was written" in out
    assert "Exchanges before: 2, after: 2 — no new exchange, the cached token was used." in out
    assert 'cannot list resource "pods" in API group "" in the namespace "team-vision"' in out
    assert "failed with exit code 4" in out
    assert "Demo finished: everything behaved as described." in out
    assert (
        re.search(r"rgpu_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}", out + result.stderr) is None
    )  # no raw key
    # Nothing left: no process, no file outside the (removed) temporary directory.
    assert list(tmpdir.iterdir()) == []
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == [
        ".kube",
        ".kube/config",
    ]
    assert (home / ".kube" / "config").read_text() == "untouched\n"
    assert _processes_mentioning(str(tmpdir)) == []
