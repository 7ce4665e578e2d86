"""The cluster's "it still accepts this token" answers a second ask for a few seconds, on the hit
path; but only for the cluster that said it. A yes from server A never answers for server B (a
client whose kubeconfig names another server, CA or proxy for the same user)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rgpu_exec.hotpath import cache_hit, entry_lock, second_ask, token_cache

from conftest import API_KEY, NAMESPACE_ID, key_identity
from exchange_answers import API

KUBECTL = 4242
KEY = token_cache.CacheKey(API, NAMESPACE_ID, token_cache.key_identity(API_KEY, b"s" * 32))


def exec_info(server: str) -> str:
    cluster = {"server": server, "certificate-authority-data": "", "config": None}
    spec = {"interactive": False, "cluster": cluster}
    return json.dumps(
        {"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1", "spec": spec},
        separators=(",", ":"),
    )


SERVER_A = exec_info("https://a.example.test:6443")
SERVER_B = exec_info("https://b.example.test:6443")


def test_the_accepted_record_of_server_a_does_not_answer_for_server_b(tmp_path: Path):
    directory = str(tmp_path)
    now = 10_000.0
    entry = token_cache.Entry(KEY, now, now + 900, "tok")
    token_cache.write_entry(directory, entry)
    second_ask.note_accepted(directory, entry, now, SERVER_A)

    assert second_ask.accepted_recently(directory, entry, now + 1, SERVER_A)
    assert second_ask.accepted_recently(directory, entry, now + 1, SERVER_A + "\n"), (
        "the same exec info, as kubectl ends it"
    )
    assert not second_ask.accepted_recently(directory, entry, now + 1, SERVER_B)
    assert not second_ask.accepted_recently(directory, entry, now + 1, None)
    assert not second_ask.accepted_recently(directory, entry, now + 1, "")
    assert not second_ask.accepted_recently(
        directory, entry, now + second_ask.ACCEPTED_WINDOW, SERVER_A
    )


def test_no_yes_is_recorded_without_a_cluster_named(tmp_path: Path):
    directory = str(tmp_path)
    now = 10_000.0
    entry = token_cache.Entry(KEY, now, now + 900, "tok")
    token_cache.write_entry(directory, entry)
    second_ask.note_accepted(directory, entry, now, None)
    assert not (tmp_path / (KEY.stem + token_cache.ACCEPTED_SUFFIX)).exists()


def test_a_record_of_the_older_format_never_counts(tmp_path: Path):
    directory = str(tmp_path)
    now = 10_000.0
    entry = token_cache.Entry(KEY, now, now + 900, "tok")
    token_cache.write_entry(directory, entry)
    path = tmp_path / (KEY.stem + token_cache.ACCEPTED_SUFFIX)
    path.write_text(f"rgpu-exec-accepted 1\ntoken {now!r} {now + 900!r}\nat {now!r}\n")
    path.chmod(0o600)
    assert not second_ask.accepted_recently(directory, entry, now + 1, SERVER_A)


@pytest.mark.parametrize(("asked", "answered"), [(SERVER_A, True), (SERVER_B, False)])
def test_the_hit_path_answers_a_second_ask_only_for_the_cluster_that_said_yes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asked: str, answered: bool
):
    monkeypatch.setattr(os, "getppid", lambda: KUBECTL)
    (tmp_path / "cache").mkdir(mode=0o700)
    directory = str(tmp_path / "cache")
    now = 10_000.0
    environ = {
        "REMOTEGPU_API_KEY": API_KEY,
        "REMOTEGPU_API_URL": API,
        "RGPU_EXEC_CACHE_DIR": directory,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "KUBERNETES_EXEC_INFO": asked,
    }
    key = token_cache.CacheKey(API, NAMESPACE_ID, key_identity(API_KEY, environ))
    entry = token_cache.Entry(key, now, now + 900, "tok-1")
    token_cache.write_entry(directory, entry)
    second_ask.note(directory, entry, KUBECTL, now)  # kubectl was given tok-1 ...
    second_ask.note_accepted(directory, entry, now, SERVER_A)  # ... and server A still takes it
    try:
        served = cache_hit.serve(["token", "--namespace-id", NAMESPACE_ID], environ, now + 2)
    finally:
        entry_lock.release(key.stem)  # a hand-over keeps it for the full command
    if answered:
        assert served is not None
        assert json.loads(served[1])["status"]["token"] == "tok-1"
    else:
        assert served is None, "server B never said yes: the full command decides"
