"""The environment rules, and the cache-hit path's own reading of the command line."""

from __future__ import annotations

import sys

import platformdirs
import pytest

from rgpu_exec.hotpath import cache_hit, request, settings, url_rules

from conftest import NAMESPACE_ID


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux rules")
@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"XDG_CACHE_HOME": "/tmp/xdg-cache"}, id="xdg"),
        pytest.param({"XDG_CACHE_HOME": ""}, id="xdg-empty"),
        pytest.param({"XDG_CACHE_HOME": "   "}, id="xdg-blank"),
        pytest.param({}, id="xdg-unset"),
    ],
)
def test_cache_dir_matches_platformdirs(monkeypatch: pytest.MonkeyPatch, env) -> None:
    monkeypatch.delenv("RGPU_EXEC_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import os

    expected = platformdirs.user_cache_dir("rgpu-exec", appauthor=False)
    assert settings.cache_dir(os.environ) == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux rules")
@pytest.mark.parametrize("xdg", ["/tmp/xdg-config", "", None])
def test_config_dir_matches_platformdirs(monkeypatch: pytest.MonkeyPatch, xdg) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    if xdg is not None:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    import os

    expected = platformdirs.user_config_dir("rgpu-exec", appauthor=False)
    assert settings.config_dir(os.environ) == expected


def test_cache_dir_override_wins() -> None:
    assert settings.cache_dir({"RGPU_EXEC_CACHE_DIR": "/x/y", "XDG_CACHE_HOME": "/z"}) == "/x/y"


def test_api_url_precedence() -> None:
    env = {"REMOTEGPU_API_URL": "https://env.example/"}
    assert settings.api_url("https://flag.example", env) == "https://flag.example"
    assert settings.api_url(None, env) == "https://env.example"
    assert settings.api_url(None, {}) == "https://api.remotegpu.ai"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.remotegpu.ai", True),
        ("https://10.1.2.3:8443/base", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.9.9.9", True),
        ("http://localhost:1234/", True),
        ("http://[::1]:99", True),
        ("HTTP://LOCALHOST", True),
        ("http://api.remotegpu.ai", False),
        ("http://127.0.0.1.evil.example", False),
        ("http://localhost.evil.example", False),
        ("http://user@10.0.0.1", False),
        ("http://127.0.0.1@evil.example", False),
        ("http://[::2]", False),
        ("ftp://127.0.0.1", False),
        ("api.remotegpu.ai", False),
        ("https://", False),
        ("https://api.remotegpu.ai/\n", False),
    ],
)
def test_url_rules(url: str, allowed: bool) -> None:
    assert (url_rules.url_problem(url) is None) is allowed


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (NAMESPACE_ID, True),
        (NAMESPACE_ID.upper(), False),
        (NAMESPACE_ID.replace("-", ""), False),
        (NAMESPACE_ID[:-1] + "g", False),
        ("team-ml", False),
    ],
)
def test_namespace_ids_are_uuids(value: str, ok: bool) -> None:
    assert settings.looks_like_uuid(value) is ok


def test_key_whitespace_is_trimmed_and_blank_means_unset() -> None:
    assert settings.api_key({"REMOTEGPU_API_KEY": "  rgpu_x\n"}) == "rgpu_x"
    assert settings.api_key({"REMOTEGPU_API_KEY": " "}) is None
    assert settings.api_key({}) is None


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["token", "--namespace-id", "n"], {"namespace_id": "n"}),
        (["token", "--namespace-id=n", "--profile", "p"], {"namespace_id": "n", "profile": "p"}),
        (
            ["token", "--api-url=https://a", "--namespace-id", "n"],
            {"namespace_id": "n", "api_url": "https://a"},
        ),
        (["token"], None),
        (["token", "--namespace-id"], None),
        (["token", "--namespace-id", "n", "--namespace-id", "m"], None),
        (["token", "--namespace-id", "n", "--help"], None),
        (["token", "--namespace-id", ""], None),
        (["check", "--namespace-id", "n"], None),
        ([], None),
    ],
)
def test_fast_path_reads_only_plain_token_command_lines(argv, expected) -> None:
    assert cache_hit.token_options(argv) == expected


def test_fast_path_defers_on_a_miss_and_on_unusual_input(sandbox) -> None:
    env = {"RGPU_EXEC_CACHE_DIR": str(sandbox / "cache"), "REMOTEGPU_API_KEY": "k"}
    argv = ["token", "--namespace-id", NAMESPACE_ID]
    assert cache_hit.serve(argv, env, 0.0) is None
    assert cache_hit.serve(argv, {**env, "KUBERNETES_EXEC_INFO": "{}"}, 0.0) is None
    assert cache_hit.serve(argv, {**env, "REMOTEGPU_API_URL": "http://example.com"}, 0.0) is None


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("HTTP://LocalHost:8080/", "http://localhost:8080"),
        ("https://API.RemoteGPU.ai", "https://api.remotegpu.ai"),
        ("Https://api.remotegpu.ai/Some/Path/", "https://api.remotegpu.ai/Some/Path"),
        ("https://[::1]:443", "https://[::1]:443"),
        ("api.remotegpu.ai", "api.remotegpu.ai"),  # not a URL: left for url_rules to refuse
    ],
)
def test_an_api_url_has_one_spelling_scheme_and_host_lower_case(given: str, normal: str) -> None:
    assert settings.normal_url(given) == normal
    assert settings.api_url(given, {}) == normal
    assert settings.api_url(None, {settings.ENV_API_URL: given}) == normal


def test_the_cache_key_does_not_depend_on_the_case_of_scheme_and_host() -> None:
    namespace = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
    environ = {settings.ENV_API_KEY: "rgpu_3f9a2c1b_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aEo"}
    upper = request.resolve(namespace, "HTTP://LOCALHOST:8080/", None, environ)
    lower = request.resolve(namespace, "http://localhost:8080", None, environ)
    assert not isinstance(upper, str)
    assert not isinstance(lower, str)
    for wanted in (upper, lower):  # a key's entry is named with the user's fingerprint secret
        wanted.use_secret(bytes(32))
    assert upper.cache_key == lower.cache_key
