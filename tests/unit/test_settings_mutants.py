"""The environment rules (`hotpath.settings`), pinned where mutation testing (`make mutation`)
found no test holding them: the user directories on macOS and without HOME, a namespace name's
edges, and which proxy settings a failure record is kept under."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from platformdirs.macos import MacOS

from rgpu_exec.hotpath import settings


@pytest.fixture
def on_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")


def test_on_macos_the_user_directories_are_platformdirs(
    on_macos: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "RGPU_EXEC_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    macos = MacOS("rgpu-exec", appauthor=False)
    environ = {"HOME": str(tmp_path)}

    assert settings.config_dir(environ) == macos.user_config_dir
    assert settings.cache_dir(environ) == macos.user_cache_dir
    assert settings.config_dir(environ) == str(tmp_path / "Library/Application Support/rgpu-exec")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux rules")
def test_without_home_in_the_environment_the_directories_are_under_the_users_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A caller's environment without HOME (an exec stanza's `env`, a scrubbed CI step): the home
    # directory the OS knows, never a path relative to wherever the command runs.
    monkeypatch.setenv("HOME", str(tmp_path))

    assert settings.config_dir({}) == str(tmp_path / ".config" / "rgpu-exec")
    assert settings.cache_dir({}) == str(tmp_path / ".cache" / "rgpu-exec")


@pytest.mark.parametrize("platform", ["linux", "freebsd14", "openbsd7", "netbsd10"])
def test_on_linux_and_the_bsds_the_user_directories_follow_xdg(
    monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    environ = {"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg/cache"}

    assert settings.config_dir(environ) == "/home/u/.config/rgpu-exec"
    assert settings.cache_dir(environ) == "/xdg/cache/rgpu-exec"


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        pytest.param("a" * 63, True, id="63-characters"),
        pytest.param("a" * 64, False, id="64-characters"),
        pytest.param("team-ml", True, id="inner-dash"),
        pytest.param("team-", False, id="ends-with-dash"),
        pytest.param("-team", False, id="starts-with-dash"),
        pytest.param("abcdefghijklmnopqrstuvwxyz-0123456789", True, id="every-character"),
    ],
)
def test_a_namespace_name_is_a_dns_label(name: str, valid: bool) -> None:
    assert settings.valid_namespace_name(name) is valid


@pytest.mark.parametrize("name", [*settings.PROXY_VARIABLES, "SSL_CERT_FILE", "RGPU_EXEC_DEADLINE"])
def test_a_setting_set_to_nothing_is_the_same_settings_as_unset(name: str) -> None:
    # An empty HTTPS_PROXY means no proxy, as unset does: a failure recorded under one is
    # replayed under the other.
    assert settings.exchange_settings({name: ""}) == settings.exchange_settings({})


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_another_proxy_host_is_other_settings_whatever_its_path_holds(name: str) -> None:
    # Only the user name and password are left out; an "@" in the path is not one of them.
    first = settings.exchange_settings({name: "http://proxy-a.example.test:3128/x@y"})
    second = settings.exchange_settings({name: "http://proxy-b.example.test:3128/x@y"})

    assert first != second
    assert settings.without_userinfo("http://u:p@proxy.example.test:3128/x@y") == (
        "http://proxy.example.test:3128/x@y"
    )


def test_unset_variables_read_as_blank() -> None:
    assert settings.kuberc({}) == ""
    assert settings.login_shell({}) == ""
    assert settings.keyring_backend({}) == ""
    assert settings.ssl_key_log({}) == ""


def test_a_proxy_without_a_scheme_loses_only_its_user_name_and_password() -> None:
    assert settings.without_userinfo("u:p@proxy.example.test:3128") == "proxy.example.test:3128"
    assert settings.without_userinfo("proxy.example.test:3128/") == "proxy.example.test:3128/"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("0.1", 0.1), ("300", 300.0), ("300.1", None), ("0.09", None), ("", 20.0)],
)
def test_the_deadline_is_from_a_tenth_of_a_second_to_five_minutes(
    value: str, seconds: float | None
) -> None:
    assert settings.deadline({"RGPU_EXEC_DEADLINE": value}) == seconds


def test_all_is_no_namespace_name() -> None:
    # kubectl reads `all` as every namespace.
    assert not settings.valid_namespace_name("all")
    assert settings.valid_namespace_name("all-teams")


def test_each_ca_setting_is_read_from_its_own_variable() -> None:
    environ = {"SSL_CERT_FILE": "/f.pem", "SSL_CERT_DIR": "/d", "REMOTEGPU_CA_BUNDLE": "/b.pem"}

    assert settings.ca_files(environ) == ("/f.pem", "/d", "/b.pem")
    assert settings.ca_files({"SSL_CERT_DIR": "/d"}) == (None, "/d", None)


def test_the_exchange_settings_are_one_variable_a_line() -> None:
    lines = settings.exchange_settings({"NO_PROXY": "a,b"}).split("\n")

    assert len(lines) == 4 + len(settings.PROXY_VARIABLES)
    assert "NO_PROXY=a,b" in lines
    assert all(line.count("=") == 1 for line in lines)


def test_a_proxys_password_is_left_out_even_with_a_scheme_in_its_path() -> None:
    proxy = "http://u:secret@proxy.example.test:3128/a://b"

    assert settings.without_userinfo(proxy) == "http://proxy.example.test:3128/a://b"


def test_an_empty_profile_name_is_not_valid() -> None:
    assert not settings.valid_profile("")
    assert settings.valid_profile("a")
