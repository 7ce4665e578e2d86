"""`rgpu-exec login` / `logout`: through the installed launcher, with a file-backed test keyring.

The real Secret Service run is in test_keyring_secret_service.py.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keyring
import pytest

from printed import printed_command
from rgpu_exec.credentials import keyring_store
from rgpu_exec.credentials.key_shape import looks_like_key
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import token_cache
from rgpu_exec.usecases import login as login_command

from conftest import API_KEY, NAMESPACE_ID, key_identity, team_ml_kubeconfig
from exchange_answers import Reply, error_body
from file_keyring import calls

OTHER_NAMESPACE = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"


def stored(keyring_file: Path) -> dict[str, str]:
    return json.loads(keyring_file.read_text()) if keyring_file.exists() else {}


def seed_cache(cache: Path, identity: str, namespace_id: str = NAMESPACE_ID) -> str:
    now = time.time()
    entry = token_cache.Entry(
        token_cache.CacheKey("https://api.remotegpu.ai", namespace_id, identity),
        now,
        now + 900,
        "tok-" + identity[-3:],
    )
    token_cache.write_entry(str(cache), entry)
    stem = entry.key.stem
    (cache / f"{stem}.lock").write_text("")
    return stem


def test_login_stores_the_key_from_stdin_and_purges_only_that_profiles_tokens(
    run_cli, keyring_file, sandbox
):
    cache = sandbox / "cache"
    mine = seed_cache(cache, token_cache.profile_identity("default"))
    also_mine = seed_cache(cache, token_cache.profile_identity("default"), OTHER_NAMESPACE)
    other_profile = seed_cache(cache, token_cache.profile_identity("ci"))
    env_key = seed_cache(cache, key_identity())

    result = run_cli(["login"], stdin=API_KEY + "\n")

    assert result.returncode == 0, result.stderr
    assert stored(keyring_file) == {"rgpu-exec/default": API_KEY}
    assert "rgpu_3f9a2c1b…" in result.stdout
    assert "file_keyring.FileKeyring" in result.stdout or "FileKeyring" in result.stdout
    assert "removed 2 cached tokens" in result.stdout
    assert API_KEY not in result.stdout + result.stderr
    assert result.stderr == ""
    left = {p.name for p in cache.iterdir()}
    assert not any(name.startswith((mine, also_mine)) for name in left)
    assert f"{other_profile}.token" in left
    assert f"{env_key}.token" in left


def test_login_with_a_profile_and_a_key_that_does_not_look_right(run_cli, keyring_file):
    result = run_cli(["login", "--profile", "ci"], stdin="not-a-remotegpu-key-at-all\n")

    assert result.returncode == 0, result.stderr
    assert stored(keyring_file) == {"rgpu-exec/ci": "not-a-remotegpu-key-at-all"}
    assert "does not have the usual shape of a RemoteGPU API key" in result.stderr
    assert "not-a-remotegpu-key-at-all" not in result.stdout + result.stderr


def test_login_notes_that_the_environment_key_wins(run_cli, keyring_file):
    result = run_cli(["login"], stdin=API_KEY, env={"REMOTEGPU_API_KEY": API_KEY})

    assert result.returncode == 0
    assert "REMOTEGPU_API_KEY is set in this shell and takes precedence over the stored key" in (
        result.stderr
    )


def test_logout_notes_that_the_environment_key_is_still_used(run_cli, keyring_file):
    assert run_cli(["login", "--no-verify"], stdin=API_KEY).returncode == 0
    result = run_cli(["logout"], env={"REMOTEGPU_API_KEY": API_KEY})
    quiet = run_cli(["logout"])

    assert result.returncode == 0, result.stderr
    assert "deleted the API key of profile 'default'" in result.stdout
    assert "REMOTEGPU_API_KEY is still set in this shell, and rgpu-exec uses it" in result.stderr
    assert printed_command(result.stderr, "unset") == ["unset", "REMOTEGPU_API_KEY"]
    assert API_KEY not in result.stdout + result.stderr
    assert "REMOTEGPU_API_KEY" not in quiet.stderr  # not set: nothing to say


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        pytest.param("", "no API key given", id="empty"),
        pytest.param(
            "rgpu_3f9a2c1b abc\n", "spaces, line breaks or control characters", id="space"
        ),
        pytest.param(
            "rgpu_3f9a2c1b\nsecond-line\n",
            "spaces, line breaks or control characters",
            id="two-lines",
        ),
    ],
)
def test_login_refuses_input_that_cannot_be_a_key(run_cli, keyring_file, stdin, message):
    result = run_cli(["login"], stdin=stdin)

    assert result.returncode == 2
    assert result.stderr.startswith("rgpu-exec: ")
    assert message in result.stderr
    assert stored(keyring_file) == {}


def test_login_without_a_usable_keyring_names_the_environment_variable(run_cli, sandbox):
    # The sandbox's default backend is keyring's "fail" one: headless Linux, CI.
    result = run_cli(["login"], stdin=API_KEY)

    assert result.returncode == 2
    assert result.stderr.startswith("rgpu-exec: cannot use the OS keyring")
    assert "REMOTEGPU_API_KEY" in result.stderr
    assert "Nothing was stored" in result.stderr
    assert API_KEY not in result.stderr + result.stdout
    assert not list(sandbox.rglob("*.json"))  # no plaintext fallback anywhere


def test_logout_deletes_the_key_and_the_profiles_tokens_and_is_idempotent(
    run_cli, keyring_file, sandbox
):
    assert run_cli(["login", "--profile", "ci"], stdin=API_KEY).returncode == 0
    cache = sandbox / "cache"
    seed_cache(cache, token_cache.profile_identity("ci"))
    kept = seed_cache(cache, token_cache.profile_identity("default"))

    first = run_cli(["logout", "--profile", "ci"])
    second = run_cli(["logout", "--profile", "ci"])

    assert first.returncode == 0, first.stderr
    assert "deleted the API key of profile 'ci' from the OS keyring" in first.stdout
    assert "removed 1 cached token" in first.stdout
    assert stored(keyring_file) == {}
    assert sorted(p.name for p in cache.iterdir()) == [f"{kept}.lock", f"{kept}.token"]
    assert second.returncode == 0
    assert "no API key was stored for profile 'ci'" in second.stdout


def test_logout_without_a_keyring_drops_tokens_and_says_no_key_was_stored(run_cli, sandbox):
    """No keyring holds keys here (and no key file exists): nothing to delete, no error."""
    cache = sandbox / "cache"
    seed_cache(cache, token_cache.profile_identity("default"))

    result = run_cli(["logout"])

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "rgpu-exec: no API key was stored for profile 'default'; removed 1 cached token.\n"
    )
    assert not list(cache.glob("*.token"))


def test_token_uses_the_logged_in_key_then_the_cache(run_cli, keyring_file, fake_api):
    assert run_cli(["login"], stdin=API_KEY).returncode == 0
    token = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url]

    first = run_cli([*token])
    gets_after_first = [c for c in calls(keyring_file) if c.startswith("get")]
    second = run_cli([*token])

    assert first.returncode == 0, first.stderr
    assert second.stdout == first.stdout
    assert fake_api.count == 1
    assert fake_api.requests[0]["headers"]["x-api-key"] == API_KEY
    assert [c for c in calls(keyring_file) if c.startswith("get")] == gets_after_first


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(API_KEY, True, id="real-shape"),
        pytest.param("rgpu_3f9a2c1b_" + "-_" * 16, True, id="url-safe-secret"),
        pytest.param("rgpu_3F9A2C1B_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aEo", False, id="upper-hex"),
        pytest.param("rgpu_3f9a2c1_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aEoX", False, id="short-id"),
        pytest.param("rgpu_3f9a2c1b_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aE", False, id="short-secret"),
        pytest.param("rgpu_3f9a2c1b_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6a+o", False, id="not-url-safe"),
        pytest.param("sk_3f9a2c1b_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aEo", False, id="other-vendor"),
        pytest.param("", False, id="empty"),
    ],
)
def test_looks_like_key(value, expected):
    assert looks_like_key(value) is expected


def test_read_key_prompts_on_a_terminal_and_reads_stdin_otherwise():
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return f"  {API_KEY}  "

    def no_stdin() -> str:
        raise AssertionError("stdin must not be read on a terminal")

    typed = login_command.read_key("ci", stdin_is_tty=True, read_stdin=no_stdin, prompt=prompt)
    piped = login_command.read_key(
        "ci",
        stdin_is_tty=False,
        read_stdin=lambda: API_KEY + "\n",
        prompt=lambda _: pytest.fail("no prompt"),
    )

    assert typed == piped == API_KEY
    assert prompts == ["RemoteGPU API key for profile 'ci' (not echoed): "]


def test_an_invalid_profile_name_is_refused(run_cli, keyring_file):
    result = run_cli(["login", "--profile", "a b"], stdin=API_KEY)

    assert result.returncode == 2
    assert "profile name 'a b' is not valid" in result.stderr


def test_a_plaintext_backend_is_refused_unless_named(monkeypatch: pytest.MonkeyPatch):
    plaintext = type("PlaintextKeyring", (), {"priority": 0.5, "__module__": "keyrings.alt.file"})()
    monkeypatch.setattr(keyring, "get_keyring", lambda: plaintext)

    assert "plain text" in (keyring_store.backend_problem({}) or "")
    named = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    assert keyring_store.backend_problem(named) is None
    with pytest.raises(UsageError, match="REMOTEGPU_API_KEY"):
        keyring_store.set_key("default", API_KEY)


def test_the_fail_backend_is_not_usable():
    problem = keyring_store.backend_problem()

    assert problem is not None
    assert "no keyring backend is usable" in problem
    assert keyring_store.get_key("default") is None  # reading still never raises


def test_purge_profile_counts_entries_and_clears_failures(sandbox):
    cache = sandbox / "cache"
    stem = seed_cache(cache, token_cache.profile_identity("default"))
    (cache / f"{stem}.fail").write_text("x")
    (cache / ("deadbeef" * 8 + ".fail")).write_text("x")  # a failure of an entry never written

    assert login_command.purge_profile("default", os.environ) == 1
    assert list(cache.iterdir()) == []


def test_no_login_tip_after_a_prompted_key_without_a_keyring(capsys: pytest.CaptureFixture[str]):
    from rgpu_exec.credentials.api_key import find_api_key

    # The sandbox's keyring is keyring.backends.fail: `rgpu-exec login` could store nothing.
    key = find_api_key(
        os.environ,
        "default",
        interactive=True,
        keyring_get=lambda _p: None,
        prompt=lambda _m: API_KEY,
    )

    assert key.source == "prompt"
    assert "rgpu-exec login" not in capsys.readouterr().err


def test_login_and_logout_remove_only_files_named_by_the_cache(run_cli, keyring_file, sandbox):
    # RGPU_EXEC_CACHE_DIR pointed at a project directory by mistake: its own files stay.
    project: Path = sandbox / "project"
    project.mkdir(mode=0o755)
    own = ("Cargo.lock", "poetry.lock", "yarn.lock", "build.token", "notes.fail")
    for name in own:
        (project / name).write_text("the project's own\n")
    env = {"RGPU_EXEC_CACHE_DIR": str(project)}

    def cached() -> Path:
        now = time.time()
        identity = token_cache.profile_identity("default")
        key = token_cache.CacheKey("https://api.remotegpu.ai", NAMESPACE_ID, identity)
        token_cache.write_entry(str(project), token_cache.Entry(key, now, now + 900, "tok"))
        return project / (key.stem + token_cache.ENTRY_SUFFIX)

    before_login = cached()
    logged_in = run_cli(["login"], stdin=API_KEY + "\n", env=env)
    before_logout = cached()
    logged_out = run_cli(["logout"], env=env)

    assert (logged_in.returncode, logged_out.returncode) == (0, 0), logged_in.stderr
    assert not before_login.exists()
    assert not before_logout.exists()
    assert sorted(p.name for p in project.iterdir()) == sorted(own)


# Verification: one exchange before the key is stored.


def current_context_kubeconfig(path: Path, api_url: str, *extra: str) -> None:
    team_ml_kubeconfig(
        path, ["token", "--namespace-id", NAMESPACE_ID, "--api-url", api_url, *extra]
    )


def test_login_verifies_the_key_with_the_namespace_given_before_storing_it(
    run_cli, keyring_file, fake_api
):
    result = run_cli(["login", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url],
        stdin=API_KEY,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert [r["headers"]["x-api-key"] for r in fake_api.requests] == [API_KEY]
    assert result.stdout.splitlines()[0] == (
        f"rgpu-exec: verified with {fake_api.url} (--api-url): the key rgpu_3f9a2c1b… may use "
        "namespace "
        f"{NAMESPACE_ID}."
    )
    assert stored(keyring_file) == {"rgpu-exec/default": API_KEY}
    assert "unverified" not in result.stdout


@pytest.mark.parametrize(
    ("reply", "code", "way_out"),
    [
        # A rejected key is the API's verdict: a new key is the way out, not skipping the check.
        pytest.param(
            Reply(401, error_body("invalid_api_key", "Invalid API key")),
            3,
            "Create a key with Kubernetes access in Settings / API Keys, then log in with it.",
            id="401",
        ),
        pytest.param(
            Reply(403, error_body("forbidden", "Out of scope")), 4, "--no-verify", id="403"
        ),
        pytest.param(
            Reply(404, error_body("namespace_not_found", "No such")), 4, "--no-verify", id="404"
        ),
    ],
)
def test_login_does_not_store_a_key_the_api_refuses(
    run_cli, keyring_file, fake_api, reply, code, way_out
):
    fake_api.default = reply

    result = run_cli(["login", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url],
        stdin=API_KEY,
    )  # fmt: skip

    assert result.returncode == code
    assert result.stderr.startswith("rgpu-exec: the key rgpu_3f9a2c1b… was not stored: ")
    assert way_out in result.stderr
    assert f"asked {fake_api.url} (--api-url)" in result.stderr, "whom it asked, and why"
    if code == 3:
        assert "--no-verify" not in result.stderr
    assert stored(keyring_file) == {}
    assert API_KEY not in result.stdout + result.stderr


def test_login_verifies_with_the_current_context_that_uses_the_same_profile(
    run_cli, keyring_file, fake_api, sandbox
):
    current_context_kubeconfig(sandbox / "kubeconfig", fake_api.url)

    same = run_cli(["login"], stdin=API_KEY)
    other = run_cli(["login", "--profile", "ci"], stdin=API_KEY)

    assert same.returncode == 0, same.stderr
    assert (
        f"may use namespace team-ml ({NAMESPACE_ID[:8]}…) (context 'rgpu-team-ml')." in same.stdout
    )
    assert fake_api.count == 1  # `login --profile ci`: the context uses another profile
    assert other.returncode == 0, other.stderr
    assert (
        "It was stored unverified: the current context 'rgpu-team-ml' uses another profile "
        "('default')" in other.stdout
    )


def test_login_without_a_namespace_says_the_key_was_stored_unverified(
    run_cli, keyring_file, fake_api
):
    plain = run_cli(["login"], stdin=API_KEY)
    skipped = run_cli(["login", "--no-verify", "--namespace-id", NAMESPACE_ID,
                  "--api-url", fake_api.url], stdin=API_KEY)  # fmt: skip

    assert plain.returncode == skipped.returncode == 0
    assert "It was stored unverified: no namespace to verify it against" in plain.stdout
    assert "give --namespace-id" in plain.stdout
    assert "It was stored unverified: --no-verify." in skipped.stdout
    assert fake_api.count == 0


def test_login_without_a_usable_keyring_spends_no_exchange(run_cli, fake_api):
    result = run_cli(["login", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url],
        stdin=API_KEY,
    )  # fmt: skip

    assert result.returncode == 2
    assert "cannot use the OS keyring" in result.stderr
    assert fake_api.count == 0


def test_login_says_where_the_api_url_it_verified_with_came_from(
    run_cli, keyring_file, fake_api, sandbox
):
    from_env = run_cli(["login", "--namespace-id", NAMESPACE_ID],
        env={"REMOTEGPU_API_URL": fake_api.url}, stdin=API_KEY,
    )  # fmt: skip
    current_context_kubeconfig(sandbox / "kubeconfig", fake_api.url)
    from_context = run_cli(["login"], stdin=API_KEY)

    assert from_env.returncode == 0, from_env.stderr
    assert f"verified with {fake_api.url} (REMOTEGPU_API_URL): " in from_env.stdout
    assert from_context.returncode == 0, from_context.stderr
    assert (
        f"verified with {fake_api.url} (the --api-url in the exec args of context 'rgpu-team-ml'): "
    ) in from_context.stdout


def test_a_failed_verification_names_the_url_it_asked_and_where_it_came_from(
    run_cli, keyring_file, sandbox, waits_on_the_clock
):
    # Nothing listens on port 9: the URL came from the environment, and the message says so.
    result = run_cli(["login", "--namespace-id", NAMESPACE_ID],
        env={"REMOTEGPU_API_URL": "http://127.0.0.1:9"}, stdin=API_KEY,
    )  # fmt: skip

    assert result.returncode != 0
    assert "asked http://127.0.0.1:9 (REMOTEGPU_API_URL)" in result.stderr
    assert stored(keyring_file) == {}
