"""Hypothesis on the parsers that read what others wrote: kubectl's KUBERNETES_EXEC_INFO, the
whole environment on the cache-hit path, and the API's answer to an exchange.

Each may refuse its input, but only in the documented way: a UsageError (exit 2) for the exec
info; an answer or a deferral to the full command from the cache-hit path; an IssuedToken or one
of the API errors (exit 3, 4 or 5) from the exchange, with a message that never holds the key.
"""

from __future__ import annotations

import json
import random
import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.api.exchange import Exchanger, IssuedToken
from rgpu_exec.cache import identity_key
from rgpu_exec.errors import ApiError, ApiKeyError, ExitCode, NamespaceAccessError, UsageError
from rgpu_exec.hotpath import cache_hit, failures, request, token_cache
from rgpu_exec.hotpath.exec_credential import SUPPORTED_API_VERSIONS, V1, V1BETA1, token_is_safe
from rgpu_exec.hotpath.settings import exchange_settings
from rgpu_exec.kube.exec_info import ExecInfo, parse_exec_info

from conftest import API_KEY, NAMESPACE_ID, Clock, RunCli, examples
from exchange_answers import API, KUBECTL_EXEC_INFO


def _outcome(function: Any, argument: Any, allowed: Any) -> Any:
    """The result, or the exception if it is one of the allowed kinds (any other propagates)."""
    try:
        return function(argument)
    except allowed as exc:
        return exc


# -- KUBERNETES_EXEC_INFO -------------------------------------------------------------------------

_json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12,
)  # fmt: skip
_api_versions = st.sampled_from([
    V1, V1BETA1, "client.authentication.k8s.io/v1alpha1", "v1", "", V1.upper(),
]) | _json  # fmt: skip
_specs = (
    st.fixed_dictionaries({}, optional={"interactive": _json, "cluster": _json, "extra": _json})
    | _json
)
_exec_info_documents = st.fixed_dictionaries(
    {}, optional={"apiVersion": _api_versions, "kind": st.sampled_from(["ExecCredential", "x"])
                  | _json, "spec": _specs, "status": _json},
)  # fmt: skip
exec_info_texts = (
    _exec_info_documents.map(json.dumps)
    | _json.map(json.dumps)
    | st.text()
    | st.binary().map(lambda b: b.decode("utf-8", "replace"))
)


@given(exec_info_texts)
@example("")
@example("null")
@example('{"apiVersion": "client.authentication.k8s.io/v1", "spec": {"interactive": "maybe"}}')
@example('{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential"}' * 2)
@example("\ufeff{}")
def test_exec_info_parser_answers_or_refuses_with_exit_2(raw: str) -> None:
    info = _outcome(parse_exec_info, raw, UsageError)
    if isinstance(info, UsageError):
        assert info.exit_code == ExitCode.USAGE
        assert "KUBERNETES_EXEC_INFO" in info.message
        return
    assert isinstance(info, ExecInfo)
    assert info.api_version in SUPPORTED_API_VERSIONS
    assert isinstance(info.interactive, bool)


@given(st.booleans(), st.sampled_from(SUPPORTED_API_VERSIONS), _json)
def test_exec_info_with_cluster_info_is_accepted(interactive, version, cluster) -> None:
    """provideClusterInfo: kubectl adds the cluster; whatever it holds, we answer."""
    document = {"apiVersion": version, "kind": "ExecCredential",
                "spec": {"interactive": interactive, "cluster": {"server": "x", "config": cluster}}}  # fmt: skip
    assert parse_exec_info(json.dumps(document)) == ExecInfo(version, interactive)


# -- the cache-hit path on any environment --------------------------------------------------------

# Environment values: any text a process can hold (no NUL), including the surrogate escapes
# Python uses for bytes that are not UTF-8.
_env_text = st.text(
    st.characters(exclude_characters="\x00")
    | st.sampled_from([chr(c) for c in range(0xDC80, 0xDD00)]),
    max_size=40,
)
_argv_values = st.sampled_from(
    [NAMESPACE_ID, NAMESPACE_ID.upper(), "http://127.0.0.1:9", "https://api.remotegpu.ai",
     "default", "ci", "", "-", "--namespace-id"]
) | _env_text  # fmt: skip
_flags = st.sampled_from(["--namespace-id", "--api-url", "--profile", "--namespace-id=",
                          "--api-url=", "--bogus", "token"])  # fmt: skip
_argvs = st.lists(st.one_of(_flags, _argv_values), max_size=7).map(lambda a: ["token", *a])
_environ_names = st.sampled_from([
    "REMOTEGPU_API_KEY", "REMOTEGPU_API_URL", "RGPU_EXEC_PROFILE", "RGPU_EXEC_CACHE_DIR",
    "KUBERNETES_EXEC_INFO", "HOME", "XDG_CACHE_HOME", "RGPU_EXEC_DEADLINE",
])  # fmt: skip
_exec_infos = st.sampled_from([
    KUBECTL_EXEC_INFO,
    ('{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",'
    '"spec":{"interactive":true}}'),
]) | exec_info_texts  # fmt: skip


def config_home(cache: Path) -> Path:
    """The XDG_CONFIG_HOME beside the seeded cache: where its key's fingerprint secret is."""
    return cache.parent / "config"


@pytest.fixture(scope="module")
def seeded_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private cache holding a fresh entry and a damped failure the generated calls may hit."""
    cache = tmp_path_factory.mktemp("fast") / "cache"
    now = time.time()
    # The key's fingerprint secret, where the calls below find it (`config_home`).
    secret = identity_key.ensure_secret(str(config_home(cache) / "rgpu-exec"))
    # The settings a request of a bare environment (with this config home, where the key file
    # would be) compares a failure record with: its key file's state is part of them.
    bare = request.resolve(NAMESPACE_ID, None, "ci", {"XDG_CONFIG_HOME": str(config_home(cache))})
    assert not isinstance(bare, str)
    settings_now = bare.exchange_settings()
    assert settings_now.startswith(exchange_settings({}))
    for api_url in ("https://api.remotegpu.ai", "http://127.0.0.1:9"):
        token_cache.write_entry(str(cache), token_cache.Entry(
            token_cache.CacheKey(api_url, NAMESPACE_ID, token_cache.key_identity(API_KEY, secret)), now, now + 900, "tok-key",
        ))  # fmt: skip
        stem = token_cache.entry_stem(api_url, NAMESPACE_ID, token_cache.profile_identity("ci"))
        failure = failures.Failure(
            since=now, until=now + 3600, exit_code=4, transient=False, message="rgpu-exec: denied\n",
            settings_hash=failures.settings_hash(settings_now),  # as a bare env has
        )  # fmt: skip
        failures.write_failure(str(cache), stem, failure)
    return cache


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=examples(300))
@given(
    argv=_argvs,
    environ=st.dictionaries(_environ_names, _env_text, max_size=6),
    exec_info=st.none() | _exec_infos,
    key=st.sampled_from([None, API_KEY, "  " + API_KEY + "\n"]) | _env_text,
    use_cache=st.booleans(),
)
@example(
    argv=["token", "--namespace-id", NAMESPACE_ID], environ={}, exec_info=None, key=API_KEY,
    use_cache=True,
)  # fmt: skip
@example(  # a key holding bytes that are not UTF-8 (Python's surrogate escapes)
    argv=["token", "--namespace-id", NAMESPACE_ID], environ={}, exec_info=None,
    key="rgpu_3f9a2c1b_\udcff", use_cache=True,
)  # fmt: skip
def test_the_cache_hit_path_never_raises_whatever_the_environment(
    seeded_cache: Path, argv, environ, exec_info, key, use_cache
) -> None:
    env = dict(environ)
    if exec_info is not None:
        env["KUBERNETES_EXEC_INFO"] = exec_info
    if key is not None:
        env["REMOTEGPU_API_KEY"] = key
    if use_cache:
        env["RGPU_EXEC_CACHE_DIR"] = str(seeded_cache)
        env.setdefault("XDG_CONFIG_HOME", str(config_home(seeded_cache)))
    answer = cache_hit.serve(argv, env, time.time())
    if answer is None:
        return  # the full command takes over
    code, out, err = answer
    if code == 0:
        document = json.loads(out)
        assert document["status"]["token"] == "tok-key"
        assert document["apiVersion"] in SUPPORTED_API_VERSIONS
        assert err == ""
    else:
        assert (code, out) == (4, "")
        assert err.startswith("rgpu-exec: denied")


def test_the_seeded_cache_is_really_hit(seeded_cache: Path) -> None:
    """The property above reaches both answers, not only deferrals."""
    base = ["token", "--namespace-id", NAMESPACE_ID]
    env = {
        "RGPU_EXEC_CACHE_DIR": str(seeded_cache),
        "XDG_CONFIG_HOME": str(config_home(seeded_cache)),
    }
    hit = cache_hit.serve(base, {**env, "REMOTEGPU_API_KEY": API_KEY}, time.time())
    damped = cache_hit.serve([*base, "--profile", "ci"], env, time.time())
    assert hit is not None
    assert hit[0] == 0
    assert damped is not None
    assert damped[:2] == (4, "")
    assert damped[2].startswith("rgpu-exec: denied")


@pytest.mark.parametrize("key", ["rgpu_3f9a2c1b_\udcff\udcfe", "rgpu_3f9a2c1b_clé"])
def test_a_key_no_http_header_can_carry_is_a_usage_error(run_cli: RunCli, key: str) -> None:
    """Not UTF-8, or not ASCII: exit 2 with a message, before any network (not exit 1)."""
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", "http://127.0.0.1:9"]
    result = run_cli(argv, env={"REMOTEGPU_API_KEY": key}, text=False)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert result.stderr.startswith(b"rgpu-exec: REMOTEGPU_API_KEY contains")
    assert b"non-ASCII" in result.stderr


# -- the exchange's answer ------------------------------------------------------------------------


_NOW = datetime.now(timezone.utc).replace(microsecond=0)
_stamps = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)
)
_expiries = (
    st.integers(-10**6, 10**6).map(lambda s: (_NOW + timedelta(seconds=s)).isoformat())
    | _stamps.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
    | st.sampled_from(["2026-11-26T15:20:00", "2026-11-26T15:20:00+14:00", "now", "", "Z"])
    | _json
)  # fmt: skip
_tokens = st.sampled_from(["tok-1", "a" * 16384, "a" * 16385, "x y", 'q"', "é", "\x7f"]) | _json
_answers = st.fixed_dictionaries(
    {},
    optional={
        "apiVersion": st.sampled_from([V1, V1BETA1, "v1"]) | _json,
        "kind": st.sampled_from(["ExecCredential", "Status"]) | _json,
        "status": st.fixed_dictionaries(
            {}, optional={"token": _tokens, "expirationTimestamp": _expiries}
        ) | _json,
    },
)  # fmt: skip
_bodies = _answers.map(lambda d: json.dumps(d).encode()) | st.binary(max_size=300)
_header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
_dates = (
    _stamps.map(lambda d: format_datetime(d, usegmt=True))
    | st.integers(-10**6, 10**6).map(lambda s: format_datetime(_NOW + timedelta(seconds=s),
                                                                usegmt=True))
    | _header_values
)  # fmt: skip
_retry_afters = st.integers(0, 10**6).map(str) | _dates | _header_values
_replies = st.fixed_dictionaries(
    {
        "status": st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 409, 429,
                                   500, 502, 503]) | st.integers(100, 599),
        "body": _bodies,
    },
    optional={
        "date": _dates,
        "retry-after": _retry_afters,
        "content-type": st.sampled_from(["application/json", "text/html"]) | _header_values,
    },
)  # fmt: skip


@settings(
    max_examples=examples(250),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(_replies, min_size=1, max_size=4))
@example([{"status": 429, "body": b"", "retry-after": "\u00b2"}])
@example([{"status": 429, "body": b"", "retry-after": "0"}])
@example([{"status": 200, "body": json.dumps({
    "apiVersion": V1, "kind": "ExecCredential",
    "status": {"token": "tok-1", "expirationTimestamp": "9999-12-31T23:59:59Z"},
}).encode(), "date": "Mon, 01 Jan 0001 00:00:00 GMT"}])  # fmt: skip
def test_any_answer_is_a_token_or_a_documented_api_error(
    api, replies: list[dict[str, Any]]
) -> None:
    """`api` (respx) answers every example's requests with its own handler."""
    queue = list(replies)
    clock = Clock()
    requests = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        clock.now += 0.001  # a request takes a little time, as on a real network
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        headers = [
            (name.encode(), value.encode("latin-1"))
            for name, value in reply.items()
            if name not in ("status", "body")
        ]
        return httpx.Response(reply["status"], headers=headers, content=reply["body"])

    api.route().mock(side_effect=handler)
    exchanger = Exchanger(
        ApiEndpoint(API, {}, deadline=20.0), API_KEY,
        monotonic=clock.monotonic, sleep=clock.sleep, rng=random.Random(0),
    )  # fmt: skip
    failures = (ApiError, ApiKeyError, NamespaceAccessError, UsageError)
    issued = _outcome(exchanger.exchange, NAMESPACE_ID, failures)
    if isinstance(issued, UsageError):  # a wrong URL: a 404 that is not the API's, or a
        # Kubernetes Status in a 401/403/404 (docs/architecture.md, "the server that answered")
        assert requests, "a URL is judged wrong only on an answer"
        said = re.search(r"is not the RemoteGPU API: it answered HTTP (\d+)", issued.message)
        assert said, issued.message
        assert int(said[1]) in (401, 403, 404)
        assert int(said[1]) == 404 or b'"Status"' in next(
            r["body"] for r in replies if r["status"] == int(said[1])
        ), "a 401 or 403 blames the URL only for a Kubernetes Status"
    if isinstance(issued, failures):
        assert issued.exit_code in (
            ExitCode.USAGE,
            ExitCode.API_KEY,
            ExitCode.NAMESPACE_ACCESS,
            ExitCode.API,
        )
        assert API_KEY not in issued.message
        assert API_KEY[14:] not in issued.message
        assert all(c.isprintable() for c in issued.message), issued.message
        assert clock.monotonic() <= 20.0, "never sleeps past the deadline"
        # Backoff even when told "Retry-After: 0": no tight loop of requests.
        assert len(requests) <= 15, len(requests)
        return
    assert isinstance(issued, IssuedToken)
    assert token_is_safe(issued.token)
    assert issued.lifetime > 0
