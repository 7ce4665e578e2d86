"""The failure gate of `token` (`usecases.token_failures`), called directly: which failures are
damped as one, where a failure found before the request is known is recorded, the settings a
record holds for, and how long a failure is damped while a stale token is served. What mutation
testing (`make mutation`) found no quick test deciding within its budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from rgpu_exec.errors import ApiKeyError, RecentFailureError, RgpuExecError, UsageError
from rgpu_exec.hotpath import failures, token_cache
from rgpu_exec.usecases.token_failures import FAILURE_DAMPING_SECONDS, Where, damped

from conftest import NAMESPACE_ID, key_identity

NOW = 1_000_000.0
EXEC_INFO = '{"kind": "ExecCredential", "spec": {"interactive": false}}'
SLOT = token_cache.CacheKey("https://api.remotegpu.ai", NAMESPACE_ID, key_identity())


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def environ_of(cache: Path) -> dict[str, str]:
    return {"RGPU_EXEC_CACHE_DIR": str(cache), "KUBERNETES_EXEC_INFO": EXEC_INFO}


@pytest.mark.parametrize("known", ["nothing", "the-cache-directory"])
def test_a_failure_before_the_request_is_known_is_told_in_full_once_then_in_one_line(
    cache: Path, known: str
) -> None:
    environ = environ_of(cache)
    where = Where() if known == "nothing" else Where(str(cache))
    failure = UsageError("--namespace-id is not a UUID")

    assert damped(failure, where, environ, NOW, ("--namespace-id", None)) is None
    replay = damped(failure, where, environ, NOW + 1, ("--namespace-id", None))

    assert isinstance(replay, RecentFailureError)
    assert replay.exit_code == failure.exit_code
    assert str(replay).startswith("rgpu-exec: --namespace-id is not a UUID [same failure")


@pytest.mark.parametrize(
    ("second", "told_for", "exec_info"),
    [
        pytest.param(ApiKeyError("refused"), ("x",), EXEC_INFO, id="another-exit-code"),
        pytest.param(UsageError("refused again"), ("x",), EXEC_INFO, id="other-words"),
        pytest.param(UsageError("refused"), ("y",), EXEC_INFO, id="another-flag"),
        pytest.param(UsageError("refused"), ("x",), "{}", id="other-exec-info"),
    ],
)
def test_a_failure_told_otherwise_or_for_something_else_is_told_in_full(
    cache: Path, second: RgpuExecError, told_for: tuple[str, ...], exec_info: str
) -> None:
    environ = environ_of(cache)
    assert damped(UsageError("refused"), Where(), environ, NOW, ("x",)) is None

    environ["KUBERNETES_EXEC_INFO"] = exec_info
    assert damped(second, Where(), environ, NOW + 1, told_for) is None


def test_a_failure_before_the_request_is_known_is_recorded_under_the_hash_of_what_was_told(
    cache: Path,
) -> None:
    failure = UsageError("--namespace-id is not a UUID")

    damped(failure, Where(), environ_of(cache), NOW, ("--namespace-id", None))

    stem = failures.told_stem(str(failure.exit_code), str(failure), "--namespace-id", "", EXEC_INFO)
    assert [p.name for p in cache.iterdir()] == [stem + token_cache.FAILURE_SUFFIX]


def test_no_failure_is_recorded_in_a_cache_directory_other_users_can_write(cache: Path) -> None:
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    failure = UsageError("refused")

    assert damped(failure, Where(), environ_of(cache), NOW, ()) is None
    assert damped(failure, Where(), environ_of(cache), NOW + 1, ()) is None
    assert list(cache.iterdir()) == []


def test_a_failure_of_an_entry_is_replayed_only_under_the_settings_it_was_recorded_under(
    cache: Path,
) -> None:
    def where(settings: str) -> Where:
        return Where(str(cache), SLOT, lambda: settings)

    failure = ApiKeyError("the API key was revoked")
    environ = environ_of(cache)

    assert damped(failure, where("a"), environ, NOW, ()) is None
    assert isinstance(damped(failure, where("a"), environ, NOW + 1, ()), RecentFailureError)
    assert damped(failure, where("b"), environ, NOW + 2, ()) is None, "the settings changed"


def test_a_record_holds_the_settings_it_was_made_under_and_none_before_they_are_known() -> None:
    failure = UsageError("refused")

    assert Where().record(failure, NOW).settings_hash == ""
    under = Where("/cache", SLOT, lambda: "settings").record(failure, NOW).settings_hash
    assert under == failures.settings_hash("settings")


def test_a_failure_is_damped_for_a_few_seconds_or_while_a_stale_token_is_served() -> None:
    stale = token_cache.Entry(SLOT, NOW - 3000, NOW + 600, "tok")
    failure = UsageError("refused")

    alone = Where().record(failure, NOW)
    beside = Where().record(failure, NOW, stale)

    assert alone.until == NOW + FAILURE_DAMPING_SECONDS
    assert beside.until == NOW + failures.retry_after(stale, NOW)
    assert beside.until != alone.until


def test_a_recorded_message_keeps_its_lines_and_shows_what_a_terminal_would_act_on() -> None:
    failure = UsageError("refused\n  because\x1b[8m hidden")

    message = Where().record(failure, NOW).message

    assert message == "rgpu-exec: refused\n  because\\x1b[8m hidden"


def test_where_no_cache_directory_is_known_every_failure_is_told_in_full(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows: its cache directory is not the environment's to say (`settings.cache_dir`).
    monkeypatch.setattr("sys.platform", "win32")
    environ = {"KUBERNETES_EXEC_INFO": EXEC_INFO}
    failure = UsageError("refused")

    assert damped(failure, Where(), environ, NOW, ()) is None
    assert damped(failure, Where(), environ, NOW + 1, ()) is None
