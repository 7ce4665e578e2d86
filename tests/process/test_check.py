"""`rgpu-exec check`: the scope matrix, through the installed launcher against the fake API (respx)."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import respx

from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.commands import check as check_command
from rgpu_exec.credentials.api_key import ApiKey
from rgpu_exec.errors import ApiError, ApiKeyError
from rgpu_exec.hotpath import token_cache
from rgpu_exec.usecases import check as namespace_check
from rgpu_exec.usecases.check import Result, Target
from rgpu_exec.usecases.key_exchange import KeyExchange

from conftest import (
    API_KEY,
    NAMESPACE_ID,
    Ran,
    RunCli,
    key_identity,
    rgpu_exec_user,
    write_kubeconfig,
)
from emulator_support import RGPU_EXEC, Harness, run
from exchange_answers import REVOKED, FakeApi, Reply, credential_answer, error_body

OTHER = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
THIRD = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
FORBIDDEN = Reply(403, error_body("forbidden", "The API key's scope does not cover this namespace"))
NOT_FOUND = Reply(404, error_body("namespace_not_found", "No such namespace"))


def run_check(run_cli: RunCli, fake: FakeApi, *args: str, key: str | None = API_KEY):
    env = {} if key is None else {"REMOTEGPU_API_KEY": key}
    return run_cli(["check", "--api-url", fake.url, *args], env=env)


def as_json(result: Ran) -> dict[str, Any]:
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def test_allowed_and_denied_without_expectations_exits_4(run_cli, fake_api, sandbox):
    fake_api.script = [Reply(), FORBIDDEN]

    result = run_check(run_cli, fake_api, "--namespace-id", NAMESPACE_ID, "--namespace-id", OTHER)

    assert result.returncode == 4, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"API key rgpu_3f9a2c1b… from REMOTEGPU_API_KEY, against {fake_api.url}"
    header, allowed, denied = lines[2], lines[3], lines[4]
    assert header.split() == ["NAMESPACE", "RESULT", "HTTP", "EXPECTED", "OK", "DETAIL"]
    assert allowed.split()[:5] == [NAMESPACE_ID, "allowed", "200", "allowed", "yes"]
    assert "token lifetime 14m5" in allowed or "token lifetime 15m00s" in allowed
    assert denied.split()[:5] == [OTHER, "denied", "403", "allowed", "NO"]
    assert "forbidden: The API key's scope does not cover this namespace" in denied
    # Aligned columns: every row's RESULT starts where the header's does.
    assert allowed.index("allowed") == denied.index("denied") == header.index("RESULT")
    assert "\033[" not in result.stdout  # no colour when stdout is not a terminal
    assert lines[-1] == "2 namespace(s) checked: 1 not as expected."
    assert "fake-token" not in result.stdout + result.stderr
    assert [r["path"] for r in fake_api.requests] == [
        f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential",
        f"/v1/kubernetes/namespaces/{OTHER}/exec-credential",
    ]


def test_all_allowed_exits_0(run_cli, fake_api):
    result = run_check(run_cli, fake_api, "--namespace-id", NAMESPACE_ID)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "1 namespace(s) checked: all as expected."


def test_expectations_that_hold_exit_0_with_stable_json(run_cli, fake_api):
    fake_api.script = [Reply(), FORBIDDEN, NOT_FOUND]

    result = run_check(run_cli, fake_api,
        "--expect-allowed", NAMESPACE_ID, "--expect-denied", OTHER, "--expect-denied", THIRD,
        "--not-found-as-denied", "--output", "json",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    document = as_json(result)
    assert list(document) == ["ok", "key_prefix", "key_source", "profile", "api_url", "results"]
    assert document["ok"] is True
    assert (document["key_prefix"], document["key_source"]) == ("rgpu_3f9a2c1b", "env")
    assert document["api_url"] == fake_api.url
    allowed, denied, missing = document["results"]
    assert 890 <= allowed.pop("lifetime_seconds") <= 900
    assert allowed == {
        "namespace_id": NAMESPACE_ID, "namespace": None, "context": None, "result": "allowed",
        "expected": "allowed", "ok": True, "status": 200, "error": None,
    }  # fmt: skip
    assert denied == {
        "namespace_id": OTHER, "namespace": None, "context": None, "result": "denied",
        "expected": "denied", "ok": True, "status": 403, "lifetime_seconds": None,
        "error": {"code": "forbidden", "message": "The API key's scope does not cover this namespace"},
    }  # fmt: skip
    assert (missing["status"], missing["result"], missing["ok"]) == (404, "not_found", True)
    assert missing["error"] == {"code": "namespace_not_found", "message": "No such namespace"}
    assert "fake-token" not in result.stdout


def test_an_expectation_that_fails_exits_4(run_cli, fake_api):
    # The key reaches a namespace it was supposed to be kept out of.
    result = run_check(run_cli, fake_api, "--expect-denied", OTHER, "--output", "json")

    assert result.returncode == 4
    document = as_json(result)
    (row,) = document["results"]
    assert (row["result"], row["expected"], row["ok"]) == ("allowed", "denied", False)
    assert document["ok"] is False


def test_a_rejected_key_exits_3_and_stops(run_cli, fake_api):
    fake_api.default = Reply(
        401, error_body("revoked_api_key", "Missing, invalid, revoked, or expired API key")
    )

    result = run_check(run_cli, fake_api, "--namespace-id", NAMESPACE_ID, "--namespace-id", OTHER)

    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.startswith(
        "rgpu-exec: the RemoteGPU API rejected the API key rgpu_3f9a2c1b"
    )
    assert fake_api.count == 1
    assert API_KEY not in result.stderr


def test_no_key_exits_3(run_cli, fake_api):
    result = run_check(run_cli, fake_api, "--namespace-id", NAMESPACE_ID, key=None)

    assert result.returncode == 3
    assert "REMOTEGPU_API_KEY" in result.stderr
    assert fake_api.count == 0


def test_an_api_error_for_one_namespace_is_a_row_and_exits_5(run_cli, fake_api):
    fake_api.script = [Reply(), Reply(400, b"<html>bad gateway config</html>")]

    result = run_check(
        run_cli,
        fake_api,
        "--expect-allowed",
        NAMESPACE_ID,
        "--expect-allowed",
        OTHER,
        "-o",
        "json",
    )

    assert result.returncode == 5
    ok_row, error_row = as_json(result)["results"]
    assert ok_row["ok"] is True
    assert (error_row["result"], error_row["status"], error_row["ok"]) == ("error", 400, False)
    assert error_row["error"]["code"] is None
    assert "bad gateway config" in error_row["error"]["message"]


def test_an_unknown_namespace_expected_denied_fails_unless_missing_counts_as_denied(
    run_cli, fake_api
):
    fake_api.default = NOT_FOUND

    strict = run_check(run_cli, fake_api, "--expect-denied", OTHER)
    lenient = run_check(run_cli, fake_api, "--expect-denied", OTHER, "--not-found-as-denied")

    assert strict.returncode == 4, strict.stderr
    row = strict.stdout.splitlines()[3]
    assert row.split()[:6] == [OTHER, "not", "found", "404", "denied", "NO"]
    assert "unknown to the key's account" in row
    assert "counts as denied only with --not-found-as-denied" in strict.stdout
    assert lenient.returncode == 0, lenient.stderr
    assert lenient.stdout.splitlines()[3].split()[:6] == [
        OTHER,
        "not",
        "found",
        "404",
        "denied",
        "yes",
    ]


@pytest.mark.parametrize(
    ("key", "reply", "code", "prefix", "words"),
    [
        pytest.param(None, None, 3, None, "no RemoteGPU API key found", id="no-key"),
        pytest.param(
            API_KEY,
            Reply(
                401, error_body("revoked_api_key", "Missing, invalid, revoked, or expired API key")
            ),
            3,
            "rgpu_3f9a2c1b",
            "rejected the API key rgpu_3f9a2c1b…",
            id="rejected-key",
        ),
    ],
)
def test_json_output_says_why_the_check_could_not_run(
    run_cli, fake_api, key, reply, code, prefix, words
):
    if reply is not None:
        fake_api.default = reply

    result = run_check(run_cli, fake_api, "--namespace-id", NAMESPACE_ID, "-o", "json", key=key)

    assert result.returncode == code
    document = as_json(result)
    assert list(document) == [
        "ok", "key_prefix", "key_source", "profile", "api_url", "error", "results"
    ]  # fmt: skip
    assert document["ok"] is False
    assert document["key_prefix"] == prefix
    assert document["api_url"] == fake_api.url
    assert document["results"] == []
    assert document["error"]["exit_code"] == code
    assert words in document["error"]["message"]
    assert result.stderr.startswith("rgpu-exec: ")  # still said on stderr, for people
    assert API_KEY not in result.stdout + result.stderr


def test_json_output_when_the_api_is_unreachable(run_cli, sandbox, waits_on_the_clock):
    env = {"REMOTEGPU_API_KEY": API_KEY, "RGPU_EXEC_DEADLINE": "0.5"}
    result = run_cli(["check", "--api-url", "http://127.0.0.1:9", "--namespace-id", NAMESPACE_ID, "-o", "json"], env=env)  # fmt: skip

    assert result.returncode == 5
    document = as_json(result)
    assert document["error"]["exit_code"] == 5
    assert document["error"]["message"].startswith("cannot reach the RemoteGPU API")
    assert (document["key_prefix"], document["api_url"]) == ("rgpu_3f9a2c1b", "http://127.0.0.1:9")


def test_json_output_for_a_usage_error(run_cli, fake_api):
    result = run_check(run_cli, fake_api, "--namespace-id", "team-ml", "-o", "json")

    assert result.returncode == 2
    document = as_json(result)
    assert document["error"]["exit_code"] == 2
    assert (
        "the value given is not a namespace ID (it is a namespace name)"
        in document["error"]["message"]
    )
    assert fake_api.count == 0


def test_help_explains_every_option_and_names_contexts_as_generated(run_cli):
    result = run_cli(["check", "--help"])

    text = " ".join(result.stdout.split())
    assert "--expect-denied ID a namespace the key must NOT be allowed to use" in text
    assert "rgpu-exec check --context rgpu-team-ml --context rgpu-staging" in result.stdout
    assert "--not-found-as-denied" in text


def test_an_unreachable_api_exits_5(run_cli, sandbox, waits_on_the_clock):
    class Gone:
        url = "http://127.0.0.1:9"  # discard port: nothing listens

    env = {"REMOTEGPU_API_KEY": API_KEY, "RGPU_EXEC_DEADLINE": "0.5"}
    result = run_cli(["check", "--api-url", Gone.url, "--namespace-id", NAMESPACE_ID], env=env)  # fmt: skip

    assert result.returncode == 5
    assert result.stderr.startswith("rgpu-exec: cannot reach the RemoteGPU API")


def test_check_never_reads_or_writes_the_token_cache(run_cli, fake_api, sandbox):
    cache = sandbox / "cache"
    now = time.time()
    identity = key_identity()
    token_cache.write_entry(
        str(cache),
        token_cache.Entry(
            token_cache.CacheKey(fake_api.url, NAMESPACE_ID, identity), now, now + 900, "cached"
        ),
    )
    before = sorted((p.name, p.stat().st_mtime_ns) for p in cache.iterdir())

    result = run_check(run_cli, fake_api, "--namespace-id", NAMESPACE_ID, "--namespace-id", OTHER)

    assert result.returncode == 0, result.stderr
    assert fake_api.count == 2  # the fresh cached token was not used
    assert sorted((p.name, p.stat().st_mtime_ns) for p in cache.iterdir()) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            [], "nothing to check: no context in the kubeconfig runs rgpu-exec", id="nothing"
        ),
        pytest.param(
            ["--namespace-id", "team-ml"],
            "the value given is not a namespace ID (it is a namespace name)",
            id="not-uuid",
        ),
        pytest.param(
            ["--expect-allowed", OTHER, "--expect-denied", OTHER],
            "both --expect-allowed and --expect-denied",
            id="contradiction",
        ),
        pytest.param(
            ["--context", "nope"],
            "no context 'nope' in the kubeconfig",
            id="unknown-context",
        ),
        pytest.param(
            ["--output", "xml", "--namespace-id", OTHER], "invalid choice", id="bad-output"
        ),
    ],
)
def test_usage_errors_exit_2_before_any_request(run_cli, fake_api, args, message):
    result = run_check(run_cli, fake_api, *args)

    assert result.returncode == 2
    assert result.stderr.startswith("rgpu-exec: ")
    assert message in result.stderr
    assert fake_api.count == 0


def user(command: str, *args: str) -> dict[str, Any]:
    return rgpu_exec_user(command, args=args)


def test_namespaces_from_kubeconfig_contexts_first_file_wins(
    run_cli, fake_api, sandbox, monkeypatch
):
    first, second = sandbox / "first.yaml", sandbox / "second.yaml"
    write_kubeconfig(
        first,
        {
            "team-ml-user": user("rgpu-exec", "token", "--namespace-id", NAMESPACE_ID),
            "curl-user": user("sh", "-c", "curl …/exec-credential"),
        },
        {"team-ml": {"user": "team-ml-user"}, "legacy": {"user": "curl-user"}},
        current=None,
    )
    write_kubeconfig(
        second,
        {
            "shadowed-user": user("rgpu-exec", "token", "--namespace-id", THIRD),
            "staging-user": user("kubectl", "rgpu", "token", f"--namespace-id={OTHER}"),
        },
        {"team-ml": {"user": "shadowed-user"}, "staging": {"user": "staging-user"}},
        current=None,
    )
    monkeypatch.setenv(
        "KUBECONFIG", os.pathsep.join([str(first), str(sandbox / "missing.yaml"), str(second)])
    )
    fake_api.script = [Reply(), FORBIDDEN]

    result = run_check(
        run_cli, fake_api, "--context", "team-ml", "--context", "staging", "-o", "json"
    )

    assert result.returncode == 4, result.stderr
    rows = as_json(result)["results"]
    assert [(r["context"], r["namespace_id"], r["result"]) for r in rows] == [
        ("team-ml", NAMESPACE_ID, "allowed"),
        ("staging", OTHER, "denied"),
    ]
    legacy = run_check(run_cli, fake_api, "--context", "legacy")
    assert legacy.returncode == 2
    assert "context 'legacy' does not use rgpu-exec" in legacy.stderr


def test_colour_only_on_a_terminal_and_namespaces_by_name():
    rows = [
        Result(NAMESPACE_ID, None, None, "allowed", "allowed", True, 200, 900),
        Result(OTHER, "team-ml", "ctx", "denied", "denied", True, 403, None, "forbidden", "no"),
    ]
    key = ApiKey(API_KEY, "env")

    plain = check_command.render_table(rows, key, "https://api", colour=False)
    coloured = check_command.render_table(rows, key, "https://api", colour=True)

    assert "\033[32mallowed" in coloured
    assert "\033[" not in plain
    assert f"team-ml ({OTHER[:8]}…) [ctx]" in plain
    assert "token lifetime 15m00s" in plain
    assert "forbidden: no" in plain


@pytest.mark.parametrize(
    ("results", "code"),
    [
        pytest.param([("allowed", True)], 0, id="ok"),
        pytest.param([("allowed", True), ("denied", False)], 4, id="not-ok"),
        pytest.param([("denied", True), ("error", False)], 5, id="error-wins"),
    ],
)
def test_exit_code(results, code):
    rows = [
        Result(NAMESPACE_ID, None, None, outcome, "allowed", ok, None, None)
        for outcome, ok in results
    ]
    assert namespace_check.exit_code(rows) == code


@respx.mock
def test_check_maps_each_answer_without_retrying_4xx():
    base = "https://api.remotegpu.test"
    route = respx.post(url__regex=rf"{base}/v1/kubernetes/namespaces/.*/exec-credential")
    route.side_effect = [
        credential_answer("t", server_now=datetime(2030, 1, 1, tzinfo=timezone.utc)),
        httpx.Response(404, json={"error": {"code": "namespace_not_found", "message": "No such namespace"}}),
    ]  # fmt: skip
    targets = [Target(NAMESPACE_ID), Target(OTHER, "denied", stated=True)]

    exchanger = KeyExchange(ApiKey(API_KEY, "env"), ApiEndpoint(base, {}, deadline=20.0))
    allowed, missing = namespace_check.check(targets, exchanger, not_found_as_denied=True)

    assert (allowed.lifetime_seconds, allowed.ok) == (900, True)
    assert (missing.status, missing.error_code, missing.error_message, missing.ok) == (
        404,
        "namespace_not_found",
        "No such namespace",
        True,
    )
    assert route.call_count == 2


@respx.mock
def test_a_malformed_answer_for_one_namespace_is_reported_in_its_row_and_the_rest_checked():
    base = "https://api.remotegpu.test"
    route = respx.post(url__regex=rf"{base}/v1/kubernetes/namespaces/.*/exec-credential")
    route.side_effect = [
        httpx.Response(200, json={"apiVersion": "client.authentication.k8s.io/v1"}),
        httpx.Response(200, json={
            "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
            "status": {"token": "t", "expirationTimestamp": "2030-01-01T00:15:00Z"},
        }, headers={"date": "Tue, 01 Jan 2030 00:00:00 GMT"}),
    ]  # fmt: skip
    exchanger = KeyExchange(ApiKey(API_KEY, "env"), ApiEndpoint(base, {}, deadline=20.0))

    broken, fine = namespace_check.check([Target(NAMESPACE_ID), Target(OTHER)], exchanger)

    assert (broken.result, broken.status, broken.ok) == ("error", 200, False)
    assert "not a valid ExecCredential" in str(broken.error_message)
    assert (fine.result, fine.ok) == ("allowed", True)
    assert namespace_check.exit_code([broken, fine]) == 5


@respx.mock
def test_a_401_or_a_network_failure_stops_the_whole_check():
    base = "https://api.remotegpu.test"
    respx.post(url__regex=r".*").mock(return_value=httpx.Response(401, json=REVOKED))
    with pytest.raises(ApiKeyError):
        namespace_check.check(
            [Target(NAMESPACE_ID)], KeyExchange(ApiKey(API_KEY, "env"), ApiEndpoint(base, {}))
        )
    respx.post(url__regex=r".*").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ApiError):
        namespace_check.check(
            [Target(NAMESPACE_ID)],
            KeyExchange(ApiKey(API_KEY, "env"), ApiEndpoint(base, {}, deadline=0.1)),
        )


# Against the emulator: its scope rules, its error bodies, its token lifetimes.


def emulator_check(emulator: Harness, key: str, *args: str) -> Ran:
    argv = [str(RGPU_EXEC), "check", "--api-url", emulator.ready.api_url, *args]
    return run(argv, emulator.plugin_env(key))


@pytest.mark.e2e
def test_a_key_scoped_to_one_namespace_against_the_emulator(emulator: Harness):
    team, other = emulator.namespace("team-ml"), emulator.namespace("other")
    key = emulator.namespace_key(team)["key"]

    held = emulator_check(
        emulator, key, "--expect-allowed", team["id"], "--expect-denied", other["id"], "-o", "json"
    )
    plain = emulator_check(
        emulator, key, "--namespace-id", team["id"], "--namespace-id", other["id"]
    )

    assert held.returncode == 0, held.stderr
    document = as_json(held)
    assert document["key_prefix"] == key[:13]
    allowed, denied = document["results"]
    assert (allowed["namespace_id"], allowed["result"], allowed["status"], allowed["ok"]) == (
        team["id"],
        "allowed",
        200,
        True,
    )
    assert 0 < allowed["lifetime_seconds"] <= 900
    assert (denied["namespace_id"], denied["result"], denied["status"], denied["ok"]) == (
        other["id"],
        "denied",
        403,
        True,
    )
    assert denied["error"]["code"] == "forbidden"
    assert key not in held.stdout + held.stderr
    assert plain.returncode == 4
    assert emulator.exchanges() == 2  # a token issued for team-ml by each run: never the cache


@pytest.mark.e2e
def test_inference_only_and_revoked_keys_against_the_emulator(emulator: Harness):
    team = emulator.namespace("team-ml")
    inference = emulator.key({"inference": True})["key"]
    revoked = emulator.namespace_key(team)
    emulator.client.revoke_key(revoked["id"])

    denied = emulator_check(emulator, inference, "--expect-denied", team["id"])
    rejected = emulator_check(emulator, revoked["key"], "--namespace-id", team["id"])

    assert denied.returncode == 0, denied.stdout + denied.stderr
    assert rejected.returncode == 3
    assert "rejected the API key" in rejected.stderr


@pytest.mark.e2e
def test_kubeconfig_contexts_against_the_emulator(emulator: Harness):
    team, other = emulator.namespace("team-ml"), emulator.namespace("other")
    key = emulator.namespace_key(team)["key"]
    emulator.kubeconfig(team, other)  # contexts named after the namespaces, with --api-url

    env = emulator.plugin_env(key)
    result = run(
        [str(RGPU_EXEC), "check", "--context", "team-ml", "--context", "other", "-o", "json"], env
    )

    assert result.returncode == 4
    assert as_json(result)["api_url"] == emulator.ready.api_url  # taken from the contexts
    rows = as_json(result)["results"]
    assert [(r["context"], r["result"]) for r in rows] == [
        ("team-ml", "allowed"),
        ("other", "denied"),
    ]


def test_check_without_namespaces_checks_every_rgpu_exec_context_by_name(
    run_cli, fake_api, sandbox
):
    write_kubeconfig(
        sandbox / "kubeconfig",
        {
            "ml": user("rgpu-exec", "token", "--namespace-id", NAMESPACE_ID),
            "web": user("/opt/bin/rgpu-exec", "token", "--namespace-id", OTHER),
            "curl": user("sh", "-c", "curl …/exec-credential"),
            "broken": user("rgpu-exec", "token"),
        },
        {
            "ml": {"user": "ml", "namespace": "team-ml"},
            "web": {"user": "web", "namespace": "web"},
            "curl": {"user": "curl"},
            "broken": {"user": "broken"},
        },
        current=None,
    )
    fake_api.script = [Reply(), FORBIDDEN]

    result = run_check(run_cli, fake_api)

    assert result.returncode == 4, result.stderr
    rows = result.stdout.splitlines()[3:5]
    assert rows[0].startswith(f"team-ml ({NAMESPACE_ID[:8]}…) [ml]  allowed")
    assert rows[1].startswith(f"web ({OTHER[:8]}…) [web]")
    assert "denied" in rows[1]
    assert fake_api.count == 2
    assert (
        "rgpu-exec: warning: not checked: context 'broken': its exec args give no --namespace-id."
        in result.stderr
    )


def test_contexts_that_pass_different_profiles_are_checked_separately(run_cli, fake_api, sandbox):
    write_kubeconfig(
        sandbox / "kubeconfig",
        {
            "a": user("rgpu-exec", "token", "--namespace-id", NAMESPACE_ID),
            "b": user("rgpu-exec", "token", "--namespace-id", OTHER, "--profile", "ci"),
        },
        current=None,
    )

    result = run_check(run_cli, fake_api)

    assert result.returncode == 2
    assert "the contexts use different profiles (a: (none), b: ci)" in result.stderr
    # Each context's own check, as a command that runs (was "--context NAME").
    assert (
        "Check them one at a time (`rgpu-exec check --context a`, `rgpu-exec check --context b`)"
    ) in result.stderr
    assert fake_api.count == 0


def test_contexts_with_different_api_urls_need_a_context_each_or_one_api_url_flag(
    run_cli, fake_api, sandbox
):
    write_kubeconfig(
        sandbox / "kubeconfig",
        {
            "a": user("rgpu-exec", "token", "--namespace-id", NAMESPACE_ID,
                      "--api-url", fake_api.url),
            "b": user("rgpu-exec", "token", "--namespace-id", OTHER,
                      "--api-url", fake_api.url + "/v1"),
        },
        current=None,
    )  # fmt: skip
    env = {"REMOTEGPU_API_KEY": API_KEY}

    refused = run_cli(["check"], env=env)
    flagged = run_check(run_cli, fake_api)  # --api-url: it beats the contexts' own

    assert refused.returncode == 2
    assert "the contexts use different API URLs" in refused.stderr
    assert "or give one to all of them with --api-url." in refused.stderr  # no URL placeholder
    assert flagged.returncode == 0, flagged.stderr
    assert {r["path"].split("/")[4] for r in fake_api.requests} == {NAMESPACE_ID, OTHER}
