"""`rgpu-exec kubeconfig ...` through the installed launcher, as a user runs it."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
import yaml

import conftest
from conftest import API_KEY, NAMESPACE_ID
from emulator_support import RGPU_EXEC
from exchange_answers import FakeApi, Reply, error_body

CA_DATA = base64.b64encode(
    b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
).decode()
GENERATE = [
    "kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
    "--server", "https://k8s.example:6443", "--certificate-authority-data", CA_DATA,
]  # fmt: skip
EXISTING = """\
# my clusters
apiVersion: v1
clusters:
- cluster:
    server: https://prod.example   # prod
  name: prod
contexts:
- context:
    cluster: prod
    user: prod
  name: prod
current-context: prod
kind: Config
users:
- name: prod
  user:
    token: prod-token
"""


@pytest.fixture
def kubeconfig(sandbox: Path) -> Path:
    return sandbox / "kubeconfig"  # KUBECONFIG points here (see conftest)


def test_generate_creates_home_kube_config_private(run_cli, sandbox, monkeypatch):
    monkeypatch.delenv("KUBECONFIG")
    result = run_cli([*GENERATE, "--no-verify"])
    assert result.returncode == 0, result.stderr
    path = sandbox / "home" / ".kube" / "config"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert f"wrote {path}" in result.stdout
    data = yaml.safe_load(path.read_text())
    assert data["users"][0]["user"]["exec"]["command"] == str(RGPU_EXEC)
    # A kubeconfig without a current context gets this one, as aws eks update-kubeconfig does.
    assert data["current-context"] == "rgpu-team-ml"
    assert (
        "rgpu-exec: the kubeconfig had no current context, so 'rgpu-team-ml' is now kubectl's "
        "default: `kubectl get pods` uses it" in result.stdout
    )


def test_a_kubeconfig_with_a_current_context_keeps_it_unless_asked(run_cli, kubeconfig):
    first = run_cli([*GENERATE, "--no-verify"])  # an empty file: it becomes current
    other = run_cli(["kubeconfig", "generate", "--namespace", "team-cv", "--namespace-id",
        "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c", "--server", "https://k8s.example.test",
        "--no-verify"])  # fmt: skip

    assert first.returncode == other.returncode == 0, first.stderr + other.stderr
    assert yaml.safe_load(kubeconfig.read_text())["current-context"] == "rgpu-team-ml"
    assert "no current context" not in other.stdout
    assert "kubectl --context rgpu-team-cv get pods" in other.stdout


def test_second_run_is_byte_identical_without_backup_or_write(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)
    assert run_cli([*GENERATE, "--no-verify"]).returncode == 0
    first = kubeconfig.read_bytes()
    backup = kubeconfig.with_name("kubeconfig.rgpu-exec.bak")
    assert backup.read_text() == EXISTING
    backup.unlink()
    inode, mtime = kubeconfig.stat().st_ino, kubeconfig.stat().st_mtime_ns
    result = run_cli([*GENERATE, "--no-verify"])
    assert result.returncode == 0
    assert "nothing changed" in result.stdout
    assert kubeconfig.read_bytes() == first
    assert (kubeconfig.stat().st_ino, kubeconfig.stat().st_mtime_ns) == (inode, mtime)
    assert not backup.exists()


def test_comments_other_entries_and_current_context_survive(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)
    result = run_cli([*GENERATE, "--no-verify"])
    assert result.returncode == 0, result.stderr
    text = kubeconfig.read_text()
    assert text.startswith(EXISTING.split("contexts:", maxsplit=1)[0])
    assert "    server: https://prod.example   # prod\n" in text
    data = yaml.safe_load(text)
    assert data["current-context"] == "prod"
    assert data["users"][0] == {"name": "prod", "user": {"token": "prod-token"}}


def test_set_current_context(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)
    assert run_cli([*GENERATE, "--no-verify", "--set-current-context"]).returncode == 0
    assert yaml.safe_load(kubeconfig.read_text())["current-context"] == "rgpu-team-ml"


def test_dry_run_prints_a_unified_diff_and_writes_nothing(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)
    result = run_cli([*GENERATE, "--no-verify", "--dry-run", "--context", "ml"])
    assert result.returncode == 0
    assert result.stdout.startswith(f"--- {kubeconfig}\n+++ {kubeconfig}\n@@ ")
    assert "+- name: ml\n" in result.stdout
    assert "dry run, nothing was written" in result.stderr
    assert kubeconfig.read_text() == EXISTING
    assert sorted(
        p.name for p in kubeconfig.parent.iterdir() if p.name.startswith("kubeconfig")
    ) == ["kubeconfig"]


def test_dry_run_of_a_new_file_diffs_from_dev_null(run_cli, kubeconfig):
    result = run_cli([*GENERATE, "--no-verify", "--dry-run"])
    assert result.stdout.startswith(f"--- /dev/null\n+++ {kubeconfig}\n")
    assert not kubeconfig.exists()


def test_stale_lock_is_reported_with_its_age_and_the_fix(run_cli, kubeconfig, waits_on_the_clock):
    # The 3 s wait for the lock passes on the test's clock (the wait: tests/unit/test_kubeconfig_files.py).
    kubeconfig.write_text(EXISTING)
    lock = kubeconfig.with_name("kubeconfig.lock")
    lock.write_text("")
    old = lock.stat().st_mtime - 600
    os.utime(lock, (old, old))
    result = run_cli([*GENERATE, "--no-verify"])
    assert result.returncode == 2
    assert result.stderr.startswith("rgpu-exec: ")
    assert "created 10 min ago" in result.stderr
    assert f"rm {lock}" in result.stderr
    assert kubeconfig.read_text() == EXISTING
    assert lock.exists()
    assert "waited 3 s" in result.stderr
    assert waits_on_the_clock.monotonic() >= 3.0, "it waited for the lock, on the clock"


@pytest.mark.parametrize("content", ["clusters: [\n", "- not\n- a mapping\n", "users: {a: b}\n"])
def test_malformed_kubeconfig_exits_2_untouched(run_cli, kubeconfig, content):
    kubeconfig.write_text(content)
    result = run_cli([*GENERATE, "--no-verify"])
    assert result.returncode == 2
    assert f"rgpu-exec: {kubeconfig} is not a kubeconfig" in result.stderr
    assert kubeconfig.read_text() == content
    assert not kubeconfig.with_name("kubeconfig.rgpu-exec.bak").exists()


def test_read_only_kubeconfig_exits_2_intact(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)
    kubeconfig.chmod(0o444)
    result = run_cli([*GENERATE, "--no-verify"])
    assert result.returncode == 2
    assert "read-only" in result.stderr
    assert kubeconfig.read_text() == EXISTING
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o444


def test_kubeconfig_list_updates_the_file_holding_the_entry(run_cli, sandbox, monkeypatch):
    first, second = sandbox / "first.yaml", sandbox / "second.yaml"
    first.write_text(EXISTING)
    result = run_cli([*GENERATE, "--no-verify", "--kubeconfig", str(second)])
    assert result.returncode == 0
    before_first = first.read_text()
    monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{second}")
    result = run_cli(
        [
            *GENERATE[:-2],
            "--no-verify",
            "--certificate-authority-data",
            base64.b64encode(b"-----BEGIN CERTIFICATE-----\nother\n").decode(),
        ],
    )
    assert result.returncode == 0, result.stderr
    assert first.read_text() == before_first  # cluster lives in second: updated there
    assert (
        "other"
        in base64.b64decode(
            yaml.safe_load(second.read_text())["clusters"][0]["cluster"][
                "certificate-authority-data"
            ]
        ).decode()
    )


def test_kubeconfig_list_new_entries_go_to_the_first_existing_file(run_cli, sandbox, monkeypatch):
    missing, existing = sandbox / "missing.yaml", sandbox / "existing.yaml"
    existing.write_text(EXISTING)
    monkeypatch.setenv("KUBECONFIG", f"{missing}{os.pathsep}{existing}")
    assert run_cli([*GENERATE, "--no-verify"]).returncode == 0
    assert not missing.exists()
    assert "rgpu-team-ml" in existing.read_text()


def test_symlinked_kubeconfig_is_written_through(run_cli, sandbox, kubeconfig):
    real = sandbox / "dotfiles" / "kubeconfig"
    real.parent.mkdir()
    real.write_text(EXISTING)
    kubeconfig.symlink_to(real)
    assert run_cli([*GENERATE, "--no-verify"]).returncode == 0
    assert kubeconfig.is_symlink()
    assert "rgpu-team-ml" in real.read_text()


def test_remove_context_user_cluster_and_current_context(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)
    assert run_cli([*GENERATE, "--no-verify", "--set-current-context"]).returncode == 0
    result = run_cli(["kubeconfig", "remove", "rgpu-team-ml"])
    assert result.returncode == 0, result.stderr
    assert "removed context 'rgpu-team-ml'" in result.stdout
    assert kubeconfig.read_text() == EXISTING.replace(
        "current-context: prod", 'current-context: ""'
    )
    # An unknown name is an error, as in `kubectl config delete-context`, unless told otherwise.
    inode, mtime = kubeconfig.stat().st_ino, kubeconfig.stat().st_mtime_ns
    again = run_cli(["kubeconfig", "remove", "rgpu-team-ml"])
    assert again.returncode == 2
    assert again.stderr.startswith(
        f"rgpu-exec: there is no context 'rgpu-team-ml' in {kubeconfig}; nothing was changed."
    )
    assert "--ignore-not-found" in again.stderr
    ignored = run_cli(["kubeconfig", "remove", "rgpu-team-ml", "--ignore-not-found"])
    assert ignored.returncode == 0, ignored.stderr
    assert "nothing to remove" in ignored.stdout
    assert (kubeconfig.stat().st_ino, kubeconfig.stat().st_mtime_ns) == (inode, mtime)
    dry = run_cli(["kubeconfig", "remove", "rgpu-team-ml", "--dry-run", "--ignore-not-found"])
    assert (dry.returncode, dry.stdout) == (0, "")
    assert "nothing would change" in dry.stderr


def test_remove_of_an_unknown_context_in_a_missing_file_is_an_error(run_cli, kubeconfig):
    result = run_cli(["kubeconfig", "remove", "rgpu-team-ml"])
    assert result.returncode == 2
    assert "there is no context 'rgpu-team-ml'" in result.stderr
    assert not kubeconfig.exists()


def test_remove_takes_a_name_or_all_but_not_both(run_cli, kubeconfig):
    neither = run_cli(["kubeconfig", "remove"])
    both = run_cli(["kubeconfig", "remove", "x", "--all"])
    flag = run_cli(["kubeconfig", "remove", "--context", "x"])
    assert neither.returncode == both.returncode == flag.returncode == 2
    assert "name the context to remove" in neither.stderr
    assert "not both" in both.stderr
    assert "unrecognized arguments: --context" in flag.stderr


def test_remove_all_takes_every_context_rgpu_exec_wrote_and_nothing_else(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)
    assert run_cli([*GENERATE, "--no-verify", "--set-current-context"]).returncode == 0
    other = [*GENERATE[:3], "web", *GENERATE[4:]]
    assert run_cli([*other, "--no-verify"]).returncode == 0
    result = run_cli(["kubeconfig", "remove", "--all"])
    assert result.returncode == 0, result.stderr
    assert "removed context 'rgpu-team-ml'" in result.stdout
    assert "removed context 'rgpu-web'" in result.stdout
    assert kubeconfig.read_text() == EXISTING.replace(
        "current-context: prod", 'current-context: ""'
    )
    again = run_cli(["kubeconfig", "remove", "--all"])
    assert again.returncode == 0
    assert "no context in" in again.stdout
    assert "nothing to remove" in again.stdout


@pytest.mark.parametrize(
    ("user", "why"),
    [
        pytest.param(
            "  user:\n    token: prod-token\n", "its user 'prod' has no exec stanza", id="token"
        ),
        pytest.param(
            "  user:\n    exec:\n      command: gke-gcloud-auth-plugin\n",
            "its user 'prod' runs 'gke-gcloud-auth-plugin', not rgpu-exec",
            id="other-plugin",
        ),
        pytest.param("  user: {}\n", "its user 'prod' has no exec stanza", id="empty"),
    ],
)
def test_remove_refuses_a_context_rgpu_exec_did_not_write(run_cli, kubeconfig, user, why):
    text = EXISTING.split("users:", maxsplit=1)[0] + "users:\n- name: prod\n" + user
    kubeconfig.write_text(text)
    refused = run_cli(["kubeconfig", "remove", "prod"])
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        f"rgpu-exec: context 'prod' was not written by rgpu-exec: {why}. "
    )
    assert "add --force" in refused.stderr
    assert "kubectl config delete-context prod" in refused.stderr
    assert kubeconfig.read_text() == text
    assert not kubeconfig.with_name("kubeconfig.rgpu-exec.bak").exists()
    forced = run_cli(["kubeconfig", "remove", "prod", "--force"])
    assert forced.returncode == 0, forced.stderr
    data = yaml.safe_load(kubeconfig.read_text())
    assert (data["contexts"], data["users"], data["clusters"]) == ([], [], [])


def test_remove_refuses_a_context_whose_user_is_missing(run_cli, kubeconfig):
    text = EXISTING.replace("    user: prod\n  name: prod", "    user: gone\n  name: prod")
    kubeconfig.write_text(text)
    refused = run_cli(["kubeconfig", "remove", "prod"])
    assert refused.returncode == 2
    assert "its user 'gone' does not exist" in refused.stderr
    assert kubeconfig.read_text() == text


def test_remove_accepts_an_exec_command_of_another_name(run_cli, kubeconfig):
    generated = run_cli([*GENERATE, "--no-verify", "--exec-command", "/opt/tools/rgpu-wrapper"])
    assert generated.returncode == 0, generated.stderr
    result = run_cli(["kubeconfig", "remove", "rgpu-team-ml"])
    assert result.returncode == 0, result.stderr
    assert "removed user 'rgpu-team-ml'" in result.stdout


def test_remove_keeps_a_user_another_context_still_uses(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING + "- name: spare\n  user: {}\n")
    text = kubeconfig.read_text().replace(
        "contexts:\n", "contexts:\n- context: {cluster: prod, user: prod}\n  name: prod-2\n"
    )
    kubeconfig.write_text(text)
    result = run_cli(["kubeconfig", "remove", "prod", "--force"])
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(kubeconfig.read_text())
    assert [u["name"] for u in data["users"]] == ["prod", "spare"]
    assert [c["name"] for c in data["clusters"]] == ["prod"]
    assert data["current-context"] == ""


def test_import_console_kubeconfig_from_file_and_stdin(run_cli, kubeconfig, sandbox):
    console = sandbox / "console.yaml"
    console.write_text(console_kubeconfig("https://api.remotegpu.ai"))
    result = run_cli(["kubeconfig", "import", str(console), "--no-verify"])
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(kubeconfig.read_text())
    assert data["contexts"][0]["context"]["namespace"] == "team-ml"
    assert data["users"][0]["user"]["exec"]["args"] == [
        "token",
        "--namespace-id",
        NAMESPACE_ID,
        "--namespace",
        "team-ml",
    ]
    assert "curl" not in kubeconfig.read_text()
    piped = run_cli(["kubeconfig", "import", "-", "--no-verify"], stdin=console.read_text())
    assert piped.returncode == 0
    assert "nothing changed" in piped.stdout


def test_generate_without_a_ca_flag_keeps_the_existing_ca(run_cli, kubeconfig):
    assert run_cli([*GENERATE, "--no-verify"]).returncode == 0
    before = kubeconfig.read_text()
    no_ca = run_cli([*GENERATE[:-2], "--no-verify"])
    assert no_ca.returncode == 0, no_ca.stderr
    assert "nothing changed" in no_ca.stdout
    assert kubeconfig.read_text() == before
    moved = run_cli([*GENERATE[:-4], "--server", "https://k8s-2.example:6443", "--no-verify"])
    assert moved.returncode == 0, moved.stderr
    assert "updated cluster 'rgpu-team-ml'" in moved.stdout
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    assert cluster == {
        "server": "https://k8s-2.example:6443",
        "certificate-authority-data": CA_DATA,
    }


def test_ca_file_and_insecure_flag_stay_until_a_ca_flag_replaces_them(run_cli, kubeconfig):
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: rgpu-team-ml\n  cluster:\n"
        "    server: https://old.example\n    certificate-authority: /etc/rgpu/ca.pem\n"
        "    insecure-skip-tls-verify: false\n"
    )
    kept = run_cli([*GENERATE[:-2], "--no-verify"])
    assert kept.returncode == 0, kept.stderr
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    assert cluster == {
        "server": "https://k8s.example:6443",
        "certificate-authority": "/etc/rgpu/ca.pem",
        "insecure-skip-tls-verify": False,
    }
    replaced = run_cli([*GENERATE, "--no-verify"])
    assert replaced.returncode == 0, replaced.stderr
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    assert cluster == {"server": "https://k8s.example:6443", "certificate-authority-data": CA_DATA}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(b"clusters: [\n", "it is not valid YAML", id="yaml"),
        pytest.param(b"<html>Sign in</html>\n", "its top level is not a mapping", id="html"),
        pytest.param(b"users: {a: b}\n", "users is not a list", id="shape"),
    ],
)
def test_import_of_a_broken_file_says_to_download_it_again(
    run_cli, sandbox, kubeconfig, content, problem
):
    broken = sandbox / "broken.yaml"
    broken.write_bytes(content)
    result = run_cli(["kubeconfig", "import", str(broken), "--no-verify"])
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"rgpu-exec: {broken} is not a kubeconfig rgpu-exec can read: {problem}"
    )
    assert "Download it again from the console's namespace page" in result.stderr
    assert "kubectl cannot use it either" not in result.stderr
    assert not kubeconfig.exists()


def test_import_of_a_missing_or_binary_file_says_what_to_do(run_cli, sandbox, kubeconfig):
    missing = sandbox / "nonexistent.yaml"
    result = run_cli(["kubeconfig", "import", str(missing), "--no-verify"])
    assert result.returncode == 2
    assert result.stderr == (
        f"rgpu-exec: cannot read {missing} (No such file or directory). Check the file name, "
        "or download the kubeconfig again from the console's namespace page; nothing was "
        "changed.\n"
    )
    binary = sandbox / "kubeconfig.zip"
    binary.write_bytes(b"PK\x03\x04\xff\xfe")
    for argv, stdin in (([str(binary)], b""), (["-"], binary.read_bytes())):
        raw = run_cli(["kubeconfig", "import", *argv, "--no-verify"], stdin=stdin, text=False)
        assert raw.returncode == 2
        assert b"is not UTF-8 text (byte 4)" in raw.stderr
        assert b"Download it again from the console's namespace page" in raw.stderr
    assert not kubeconfig.exists()


def test_help_states_each_commands_exit_codes_and_the_unchecked_name(run_cli):
    remove = run_cli(["kubeconfig", "remove", "--help"])
    assert remove.returncode == 0
    assert "--force" in remove.stdout
    assert "verification" not in remove.stdout
    codes = remove.stdout.split("exit codes:")[1]
    assert [line.split()[0] for line in codes.splitlines() if line[:3].strip()] == ["0", "2"]
    generate = run_cli(["kubeconfig", "generate", "--help"])
    assert "not checked against --namespace-id" in " ".join(generate.stdout.split())
    assert "verification: the RemoteGPU API is unreachable" in generate.stdout


def test_import_of_something_else_exits_2(run_cli, sandbox, kubeconfig):
    result = run_cli(["kubeconfig", "import", "-", "--no-verify"], stdin=EXISTING)
    assert result.returncode == 2
    assert "does not look like a kubeconfig from the RemoteGPU console" in result.stderr
    assert not kubeconfig.exists()


def console_kubeconfig(api_url: str) -> str:
    """The console's download (conftest's), its cluster with the CA data."""
    return conftest.console_kubeconfig(
        api_url, cluster_line=f"certificate-authority-data: {CA_DATA}"
    )


# Verification through the command line, in process, against the fake exchange endpoint (respx).


def test_verification_passes_then_writes(run_cli, kubeconfig, fake_api: FakeApi):
    result = run_cli([*GENERATE, "--api-url", fake_api.url], env={"REMOTEGPU_API_KEY": API_KEY})
    assert result.returncode == 0, result.stderr
    assert (
        fake_api.requests[0]["path"] == f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
    )
    assert yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["exec"]["args"][-2:] == [
        "--api-url",
        fake_api.url,
    ]


def test_a_second_generate_that_changes_nothing_spends_no_exchange(
    run_cli, kubeconfig, fake_api: FakeApi, tmp_path
):
    elsewhere = tmp_path / "other.yaml"  # not a file kubectl reads by default
    argv = [*GENERATE, "--api-url", fake_api.url, "--kubeconfig", str(elsewhere)]
    env = {"REMOTEGPU_API_KEY": API_KEY}

    first = run_cli([*argv], env=env)
    second = run_cli([*argv], env=env)

    assert first.returncode == second.returncode == 0, second.stderr
    assert fake_api.count == 1  # the first run's verification only
    assert "nothing changed, and no exchange was spent" in second.stdout
    assert f"rgpu-exec check --kubeconfig {elsewhere} --context rgpu-team-ml" in second.stdout


def test_verification_refused_exits_4_and_writes_nothing(run_cli, kubeconfig, fake_api: FakeApi):
    fake_api.default = Reply(403, error_body("forbidden", "key scope does not cover namespace"))
    result = run_cli([*GENERATE, "--api-url", fake_api.url], env={"REMOTEGPU_API_KEY": API_KEY})
    assert result.returncode == 4
    assert "verification failed, so nothing was written" in result.stderr
    assert "forbidden: key scope does not cover namespace" in result.stderr
    assert "--no-verify" not in result.stderr, "a context the API refused cannot work"
    assert API_KEY not in result.stderr
    assert not kubeconfig.exists()


def test_verification_without_a_key_exits_3(run_cli, kubeconfig, fake_api: FakeApi):
    result = run_cli([*GENERATE, "--api-url", fake_api.url])
    assert result.returncode == 3
    assert "--no-verify" in result.stderr
    assert fake_api.count == 0
    assert not kubeconfig.exists()


def test_import_verifies_with_the_api_url_the_user_chose_and_says_where(
    run_cli, kubeconfig, fake_api: FakeApi
):
    result = run_cli(
        ["kubeconfig", "import", "-", "--api-url", fake_api.url],
        stdin=console_kubeconfig(fake_api.url),
        env={"REMOTEGPU_API_KEY": API_KEY},
    )
    assert result.returncode == 0, result.stderr
    assert fake_api.count == 1
    # The API verified the ID; only the cluster can say the name is that namespace's, and
    # this file's cluster does not exist: "not verified", never "verified".
    assert result.stdout.splitlines()[0].startswith(
        f"rgpu-exec: verified with {fake_api.url} (--api-url): the key {API_KEY[:13]}… "
        f"(from REMOTEGPU_API_KEY) may get tokens for namespace ID {NAMESPACE_ID}; whether "
        "namespace team-ml is that namespace was not verified"
    )
    assert (
        yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["exec"]["args"][-1]
        == fake_api.url
    )


@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
def test_an_imported_file_never_chooses_where_the_api_key_goes(
    run_cli, kubeconfig, fake_api: FakeApi, dry_run
):
    # A console file edited to point its exchange at another API: the key never goes there.
    before = "# the user's own kubeconfig\napiVersion: v1\nkind: Config\n"
    kubeconfig.write_text(before)
    extra = ["--dry-run"] if dry_run else []
    for env in ({}, {"REMOTEGPU_API_URL": "https://api.example.test"}):
        result = run_cli(["kubeconfig", "import", "-", *extra],
            stdin=console_kubeconfig(fake_api.url),
            env={"REMOTEGPU_API_KEY": API_KEY, **env},
        )  # fmt: skip
        assert result.returncode == 2
        assert result.stderr.startswith(
            f"rgpu-exec: the file asks for credentials from the API at {fake_api.url}, but the "
            "API URL you chose is "
        )
        assert f"run the import again with `--api-url {fake_api.url}`." in result.stderr
        assert "nothing was sent or written" in result.stderr
    assert fake_api.count == 0
    assert kubeconfig.read_text() == before


def test_a_dry_run_makes_no_network_call(run_cli, kubeconfig, fake_api: FakeApi):
    for argv in (
        [*GENERATE, "--api-url", fake_api.url, "--dry-run"],
        ["kubeconfig", "import", "-", "--api-url", fake_api.url, "--dry-run"],
    ):
        result = run_cli([*argv], stdin=console_kubeconfig(fake_api.url),
            env={"REMOTEGPU_API_KEY": API_KEY},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "+- name: rgpu-team-ml" in result.stdout
    assert fake_api.count == 0
    assert not kubeconfig.exists()


def test_import_accepts_the_console_apis_json_answer(run_cli, kubeconfig):
    answer = json.dumps(
        {
            "namespace": "team-ml",
            "filename": "remotegpu-team-ml-kubeconfig.yaml",
            "kubeconfig": console_kubeconfig("https://api.remotegpu.ai"),
        }
    )

    result = run_cli(["kubeconfig", "import", "-", "--no-verify"], stdin=answer)

    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(kubeconfig.read_text())
    assert data["contexts"][0]["name"] == "rgpu-team-ml"
    assert data["users"][0]["user"]["exec"]["args"] == [
        "token",
        "--namespace-id",
        NAMESPACE_ID,
        "--namespace",
        "team-ml",
    ]


def test_import_replace_swaps_the_consoles_curl_context_for_the_new_one(
    run_cli, kubeconfig, sandbox
):
    console = sandbox / "console.yaml"
    console.write_text(console_kubeconfig("https://api.remotegpu.ai"))
    merged = yaml.safe_load(EXISTING)
    downloaded = yaml.safe_load(console.read_text())
    for key in ("clusters", "contexts", "users"):
        merged[key] += downloaded[key]
    merged["current-context"] = "remotegpu-team-ml"
    kubeconfig.write_text(yaml.safe_dump(merged))

    kept = run_cli(["kubeconfig", "import", str(console), "--no-verify", "--dry-run"])
    replaced = run_cli(["kubeconfig", "import", str(console), "--no-verify", "--replace"])

    assert "context 'remotegpu-team-ml' still calls the API with curl" not in kept.stdout
    assert replaced.returncode == 0, replaced.stderr
    data = yaml.safe_load(kubeconfig.read_text())
    assert [c["name"] for c in data["contexts"]] == ["prod", "rgpu-team-ml"]
    assert [u["name"] for u in data["users"]] == ["prod", "rgpu-team-ml"]
    assert [c["name"] for c in data["clusters"]] == ["prod", "rgpu-team-ml"]
    assert data["current-context"] == "rgpu-team-ml"
    assert "curl" not in kubeconfig.read_text()
    assert "removed context 'remotegpu-team-ml'" in replaced.stdout
    assert "use-context" not in replaced.stdout, "it is the current context already"


def test_import_without_replace_points_at_the_curl_context_left_behind(
    run_cli, kubeconfig, sandbox
):
    console = sandbox / "console.yaml"
    console.write_text(console_kubeconfig("https://api.remotegpu.ai"))
    kubeconfig.write_text(console.read_text())

    result = run_cli(["kubeconfig", "import", str(console), "--no-verify"])

    assert result.returncode == 0, result.stderr
    assert (
        "rgpu-exec: note: context 'remotegpu-team-ml' still calls the API with curl on every "
        "kubectl command for namespace team-ml"
    ) in result.stdout
    assert "--replace" in result.stdout
    assert "remotegpu-team-ml" in kubeconfig.read_text()


def test_the_hint_names_the_kubeconfig_only_when_kubectl_would_not_read_it(
    run_cli, kubeconfig, sandbox
):
    elsewhere = sandbox / "other dir" / "config"
    elsewhere.parent.mkdir()
    for path in (kubeconfig, elsewhere):  # with a current context of their own
        path.write_text(EXISTING)

    default = run_cli([*GENERATE, "--no-verify"])
    chosen = run_cli([*GENERATE, "--no-verify", "--kubeconfig", str(elsewhere)])
    listed = run_cli([*GENERATE, "--no-verify", "--kubeconfig", str(kubeconfig),
                 "--context", "again"])  # fmt: skip

    assert default.returncode == chosen.returncode == listed.returncode == 0
    assert "use it with `kubectl --context rgpu-team-ml get pods`" in default.stdout
    quoted = f"'{elsewhere}'"
    assert f"use it with `kubectl --kubeconfig {quoted} --context rgpu-team-ml get pods`" in (
        chosen.stdout
    )
    assert f"`kubectl --kubeconfig {quoted} config use-context rgpu-team-ml`" in chosen.stdout
    assert "--kubeconfig" not in listed.stdout  # KUBECONFIG names that file already
    current = run_cli([*GENERATE, "--no-verify", "--kubeconfig", str(elsewhere),
                  "--context", "now", "--set-current-context"])  # fmt: skip
    assert f"use it with `kubectl --kubeconfig {quoted} get pods`" in current.stdout


def test_kubeconfig_list_shows_the_contexts_rgpu_exec_manages(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)
    generated = run_cli([*GENERATE, "--no-verify", "--profile", "ci",
        "--api-url", "https://api.example.test", "--set-current-context"],
    )  # fmt: skip
    other_id = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
    wrapper = [*GENERATE[:3], "web", GENERATE[4], other_id, *GENERATE[6:]]
    wrapper += ["--exec-command", "/opt/tools/rgpu-wrapper"]
    assert generated.returncode == 0, generated.stderr
    assert run_cli([*wrapper, "--no-verify"]).returncode == 0

    table = run_cli(["kubeconfig", "list"])
    document = json.loads(run_cli(["kubeconfig", "list", "-o", "json"]).stdout)

    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == f"Contexts using rgpu-exec in {kubeconfig}:"
    assert lines[2].split() == ["CURRENT", "NAME", "NAMESPACE", "PROFILE", "API", "URL", "COMMAND"]
    assert lines[3].split() == [
        "*", "rgpu-team-ml", "team-ml", f"({NAMESPACE_ID[:8]}…)", "ci",
        "https://api.example.test", str(RGPU_EXEC),
    ]  # fmt: skip
    assert lines[4].split() == [
        "rgpu-web",
        "web",
        "(0b7e9c2a…)",
        "(default)",
        "(default)",
        "/opt/tools/rgpu-wrapper",
    ]
    assert "prod" not in table.stdout  # a static token: not rgpu-exec's
    assert document["files"] == [str(kubeconfig)]
    first = document["contexts"][0]
    assert {k: first[k] for k in ("name", "namespace", "namespace_id", "profile", "current")} == {
        "name": "rgpu-team-ml", "namespace": "team-ml", "namespace_id": NAMESPACE_ID,
        "profile": "ci", "current": True,
    }  # fmt: skip
    assert first["api_url"] == "https://api.example.test"
    assert document["contexts"][1]["api_url"] is None


def test_generate_without_a_ca_warns_that_kubectl_will_need_one(run_cli, kubeconfig):
    without = run_cli([*GENERATE[:-2], "--no-verify"])
    with_ca = run_cli([*GENERATE, "--no-verify"])
    kept = run_cli([*GENERATE[:-2], "--no-verify"])  # the CA now in the file stays

    assert without.returncode == with_ca.returncode == kept.returncode == 0
    assert without.stderr.startswith(
        "rgpu-exec: warning: cluster 'rgpu-team-ml' has no certificate authority"
    )
    assert "--certificate-authority-data" in without.stderr
    assert with_ca.stderr == kept.stderr == ""


def test_a_dry_run_diff_shortens_certificates_and_masks_secrets(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)

    result = run_cli([*GENERATE, "--no-verify", "--dry-run"])

    assert result.returncode == 0, result.stderr
    size = f"{len(CA_DATA)} B" if len(CA_DATA) < 1024 else f"{len(CA_DATA) / 1024:.1f} KB"
    assert f"+    certificate-authority-data: LS0t…({size})\n" in result.stdout
    assert CA_DATA not in result.stdout
    assert "prod-token" not in result.stdout


def test_import_takes_several_files_one_context_each_and_reads_them_all_first(
    run_cli, kubeconfig, sandbox
):
    other_id = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
    first = sandbox / "remotegpu-team-ml-kubeconfig.yaml"
    first.write_text(console_kubeconfig("https://api.remotegpu.ai"))
    second = sandbox / "remotegpu-team-cv-kubeconfig.yaml"
    second.write_text(
        console_kubeconfig("https://api.remotegpu.ai")
        .replace(NAMESPACE_ID, other_id)
        .replace("team-ml", "team-cv")
    )
    broken = sandbox / "broken.yaml"
    broken.write_text("not: [a kubeconfig")

    refused = run_cli(["kubeconfig", "import", str(first), str(broken), "--no-verify"])
    assert refused.returncode == 2
    assert not kubeconfig.exists(), "a bad file stops the run before anything is written"
    with_context = run_cli(["kubeconfig", "import", str(first), str(second), "--context", "x"])
    assert with_context.returncode == 2

    result = run_cli(["kubeconfig", "import", str(first), str(second), "--no-verify"])

    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(kubeconfig.read_text())
    assert [c["name"] for c in data["contexts"]] == ["rgpu-team-ml", "rgpu-team-cv"]
    assert data["current-context"] == "rgpu-team-ml"  # the kubeconfig had none: the first one
    assert "kubectl --context rgpu-team-cv get pods" in result.stdout


def test_remove_says_did_you_mean_for_a_namespace_name(run_cli, kubeconfig):
    assert run_cli([*GENERATE, "--no-verify"]).returncode == 0

    result = run_cli(["kubeconfig", "remove", "team-ml"])

    assert result.returncode == 2
    assert f"there is no context 'team-ml' in {kubeconfig} (did you mean 'rgpu-team-ml'?)" in (
        result.stderr
    )


def test_remove_all_takes_the_users_and_clusters_delete_context_left_behind(run_cli, kubeconfig):
    kubeconfig.write_text(EXISTING)
    assert run_cli([*GENERATE, "--no-verify"]).returncode == 0
    data = yaml.safe_load(kubeconfig.read_text())
    data["contexts"] = [c for c in data["contexts"] if c["name"] != "rgpu-team-ml"]
    kubeconfig.write_text(yaml.safe_dump(data))  # as `kubectl config delete-context` leaves it

    result = run_cli(["kubeconfig", "remove", "--all"])

    assert result.returncode == 0, result.stderr
    left = yaml.safe_load(kubeconfig.read_text())
    assert [u["name"] for u in left["users"]] == ["prod"]
    assert [c["name"] for c in left["clusters"]] == ["prod"]
    assert [c["name"] for c in left["contexts"]] == ["prod"]


def test_list_and_cache_list_take_context_and_kubeconfig_as_kubectl_does(
    run_cli, sandbox, fake_api: FakeApi, monkeypatch
):
    monkeypatch.delenv("KUBECONFIG")
    elsewhere = sandbox / "team.yaml"
    assert run_cli([*GENERATE, "--no-verify", "--kubeconfig", str(elsewhere),
               "--api-url", fake_api.url]).returncode == 0  # fmt: skip
    token = run_cli(["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url],
                env={"REMOTEGPU_API_KEY": API_KEY})  # fmt: skip
    assert token.returncode == 0, token.stderr

    listed = run_cli(["kubeconfig", "list", "--kubeconfig", str(elsewhere),
                 "--context", "rgpu-team-ml", "-o", "json"])  # fmt: skip
    missing = run_cli(["kubeconfig", "list", "--kubeconfig", str(elsewhere),
                  "--context", "nope"])  # fmt: skip
    cached = run_cli(["cache", "list", "--kubeconfig", str(elsewhere),
                 "--context", "rgpu-team-ml"])  # fmt: skip

    assert listed.returncode == 0, listed.stderr
    assert [c["name"] for c in json.loads(listed.stdout)["contexts"]] == ["rgpu-team-ml"]
    assert missing.returncode == 2
    assert "context 'nope' is not in" in missing.stderr
    assert cached.returncode == 0, cached.stderr
    assert "team-ml (6f1c2d4e…)" in cached.stdout  # the name, from the file named
