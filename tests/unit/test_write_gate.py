"""The write gate, in process: one ownership rule for kubeconfig entries (generate and import
refuse a foreign entry of the name they write unless --force; `remove --all` judges an orphan
in the file that holds it) and one path rule for every file rgpu-exec writes (never a device or
a FIFO, never a relative XDG directory, a directory others can write to is said)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from rgpu_exec.cli import main
from rgpu_exec.credentials import file_store
from rgpu_exec.hotpath import private_files, settings
from rgpu_exec.usecases import login as login_usecase

from conftest import API_KEY, NAMESPACE_ID, console_kubeconfig

GENERATE = [
    "kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
    "--server", "https://k8s.example:6443", "--exec-command", "rgpu-exec", "--no-verify",
]  # fmt: skip
PROD_CLUSTER = "- name: prod\n  cluster:\n    server: https://prod.example\n"
PROD_CONTEXT = "- name: prod\n  context:\n    cluster: prod\n    user: prod\n"
FOREIGN_USERS = {
    "client-certificate": (
        "user:\n    client-certificate-data: Y2VydA==\n    client-key-data: a2V5\n",
        "a user with a client certificate",
    ),
    "static-token": ("user:\n    token: prod-token\n", "a user with a static token"),
    "other-plugin": (
        "user:\n    exec:\n      command: gke-gcloud-auth-plugin\n",
        "a user that runs 'gke-gcloud-auth-plugin'",
    ),
}


@pytest.fixture
def kubeconfig(sandbox: Path) -> Path:
    return sandbox / "kubeconfig"  # KUBECONFIG points here (see conftest)


def _config(users: str, clusters: str = PROD_CLUSTER, contexts: str = PROD_CONTEXT) -> str:
    return (
        f"apiVersion: v1\nkind: Config\nclusters:\n{clusters}contexts:\n{contexts}"
        f"current-context: prod\nusers:\n{users}"
    )


@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
@pytest.mark.parametrize("shape", sorted(FOREIGN_USERS))
def test_generate_refuses_a_foreign_user_of_the_same_name_and_force_replaces_it(
    kubeconfig, capsys, shape, dry_run
):
    body, what = FOREIGN_USERS[shape]
    text = _config(f"- name: prod\n  {body}")
    kubeconfig.write_text(text)
    dry = ["--dry-run"] if dry_run else []

    assert main([*GENERATE, "--context", "prod", *dry]) == 2

    err = capsys.readouterr().err
    assert f"user 'prod' in {kubeconfig} ({what})" in err
    assert "context 'prod'" in err  # the context of that user is not rgpu-exec's either
    assert "--force" in err
    assert "Nothing was changed" in err
    assert kubeconfig.read_text() == text
    assert not kubeconfig.with_name("kubeconfig.rgpu-exec.bak").exists()

    assert main([*GENERATE, "--context", "prod", "--force"]) == 0
    user = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
    assert user["exec"]["command"] == "rgpu-exec"
    assert not {"token", "client-certificate-data", "client-key-data"} & set(user)


def test_generate_refuses_a_cluster_at_another_server_that_a_foreign_context_uses(
    kubeconfig, capsys
):
    text = _config("- name: prod\n  user:\n    token: prod-token\n")
    kubeconfig.write_text(text)
    # Only the cluster is named like ours: a context "prod" uses it, with a static token.
    assert main([*GENERATE, "--context", "mine", "--dry-run"]) == 0  # no clash: fine
    capsys.readouterr()
    text = text.replace("- name: prod\n  cluster", "- name: mine\n  cluster").replace(
        "cluster: prod", "cluster: mine"
    )
    kubeconfig.write_text(text)

    assert main([*GENERATE, "--context", "mine"]) == 2

    err = capsys.readouterr().err
    assert (
        f"cluster 'mine' in {kubeconfig} (a cluster at https://prod.example, used by context "
        "'prod')" in err
    )
    assert kubeconfig.read_text() == text
    assert main([*GENERATE, "--context", "mine", "--force"]) == 0
    clusters = yaml.safe_load(kubeconfig.read_text())["clusters"]
    assert clusters == [{"name": "mine", "cluster": {"server": "https://k8s.example:6443"}}]


def test_generate_fills_in_a_foreign_cluster_at_the_same_server_without_force(kubeconfig):
    same = PROD_CLUSTER.replace("prod.example", "k8s.example:6443").replace("prod", "mine", 1)
    text = _config("- name: prod\n  user:\n    token: t\n", clusters=same + PROD_CLUSTER)
    kubeconfig.write_text(text.replace("cluster: prod\n", "cluster: mine\n"))

    assert main([*GENERATE, "--context", "mine"]) == 0


def test_generate_again_over_its_own_entries_needs_no_force(kubeconfig):
    assert main(GENERATE) == 0
    moved = [a if a != "https://k8s.example:6443" else "https://k8s2.example" for a in GENERATE]
    assert main(moved) == 0
    data = yaml.safe_load(kubeconfig.read_text())
    assert data["clusters"][0]["cluster"]["server"] == "https://k8s2.example"


CONSOLE_FILE = console_kubeconfig()
IMPORT = ["kubeconfig", "import", "console.yaml", "--exec-command", "rgpu-exec", "--no-verify"]


def test_import_refuses_a_foreign_user_of_the_same_name_and_force_replaces_it(
    sandbox, kubeconfig, capsys
):
    (sandbox / "console.yaml").write_text(CONSOLE_FILE)
    text = _config(f"- name: prod\n  {FOREIGN_USERS['client-certificate'][0]}")
    kubeconfig.write_text(text)

    assert main([*IMPORT, "--context", "prod", "--dry-run"]) == 2
    assert main([*IMPORT, "--context", "prod"]) == 2

    err = capsys.readouterr().err
    assert f"user 'prod' in {kubeconfig} (a user with a client certificate)" in err
    assert "--force" in err
    assert kubeconfig.read_text() == text
    assert main([*IMPORT, "--context", "prod", "--force"]) == 0
    user = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
    assert "client-key-data" not in user


def test_import_replace_takes_the_consoles_own_entries_of_that_name_without_force(
    sandbox, kubeconfig, capsys
):
    (sandbox / "console.yaml").write_text(CONSOLE_FILE)
    kubeconfig.write_text(CONSOLE_FILE)
    mine = ["--context", "remotegpu"]

    assert main([*IMPORT, *mine]) == 2  # the console's entries, but no --replace
    assert "--replace swaps them out" in capsys.readouterr().err
    assert main([*IMPORT, *mine, "--replace"]) == 0
    users = yaml.safe_load(kubeconfig.read_text())["users"]
    assert [u["user"]["exec"]["command"] for u in users] == ["rgpu-exec"]


def test_remove_all_never_deletes_a_foreign_user_named_like_an_orphan_in_another_file(
    sandbox, monkeypatch, capsys
):
    first, second = sandbox / "first", sandbox / "second"
    # `first` holds a foreign static-token user "shared" (no context uses it); `second` holds
    # an orphan of rgpu-exec's of the same name (its context was deleted with kubectl).
    first.write_text(
        "apiVersion: v1\nkind: Config\nusers:\n- name: shared\n  user:\n    token: t\n"
    )
    monkeypatch.setenv("KUBECONFIG", f"{second}")
    assert main([*GENERATE, "--context", "shared"]) == 0
    orphaned = yaml.safe_load(second.read_text())
    orphaned["contexts"] = []
    second.write_text(yaml.safe_dump(orphaned))
    before_first = first.read_text()
    monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{second}")
    capsys.readouterr()

    assert main(["kubeconfig", "remove", "--all"]) == 0

    assert first.read_text() == before_first  # the foreign user stays, untouched
    left = yaml.safe_load(second.read_text())
    assert left.get("users") in (None, [])  # the orphan went from its own file
    assert left.get("clusters") in (None, [])


@pytest.fixture
def no_device_is_replaced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A safety net: a rename onto a device or FIFO is recorded and not done (the tests run as
    root on CI, where replacing /dev/null would break the machine)."""
    attempts: list[str] = []
    real_replace = os.replace

    def guarded(src: str, dst: str) -> None:
        target = Path(dst).resolve()
        if target.exists() and not target.is_file():
            attempts.append(str(target))
            raise OSError("test guard: refused to replace a non-regular file")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", guarded)
    return attempts


@pytest.mark.parametrize("through_symlink", [False, True], ids=["direct", "symlink"])
def test_a_kubeconfig_that_is_dev_null_is_never_replaced(
    sandbox, monkeypatch, capsys, no_device_is_replaced, through_symlink
):
    target = Path(os.devnull)
    if through_symlink:
        target = sandbox / "config-link"
        target.symlink_to(os.devnull)
    monkeypatch.setenv("KUBECONFIG", str(target))

    assert main(GENERATE) == 2

    err = capsys.readouterr().err
    assert f"the kubeconfig {target} is a device, not a regular file" in err
    assert "--kubeconfig" in err
    assert no_device_is_replaced == []  # refused before any write was tried
    assert stat.S_ISCHR(Path(os.devnull).stat().st_mode)
    assert not Path(os.devnull + ".lock").exists()
    assert not Path(os.devnull + ".rgpu-exec.bak").exists()


def test_a_kubeconfig_that_is_a_fifo_is_never_replaced(kubeconfig, capsys, no_device_is_replaced):
    os.mkfifo(kubeconfig, 0o600)

    assert main(GENERATE) == 2

    assert "is a FIFO (named pipe), not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(kubeconfig.lstat().st_mode)
    assert no_device_is_replaced == []


def test_the_cache_never_replaces_a_fifo_planted_as_an_entry(sandbox):
    directory = sandbox / "private"
    private_files.ensure_directory(str(directory))
    planted = directory / "entry.token"
    os.mkfifo(planted, 0o600)

    with pytest.raises(private_files.RefusedPathError, match="is a FIFO"):
        private_files.write_atomically(str(planted), "text")

    assert stat.S_ISFIFO(planted.lstat().st_mode)
    assert sorted(p.name for p in directory.iterdir()) == ["entry.token"]  # no temp file left


@pytest.mark.parametrize("variable", ["XDG_CONFIG_HOME", "XDG_CACHE_HOME"])
def test_a_relative_xdg_directory_is_ignored_as_the_spec_says(sandbox, variable):
    environ = {"HOME": str(sandbox / "home"), variable: "relative/dir"}
    directory = (
        settings.config_dir(environ) if "CONFIG" in variable else settings.cache_dir(environ)
    )
    default = ".config" if "CONFIG" in variable else ".cache"
    assert directory == str(sandbox / "home" / default / "rgpu-exec")


def test_a_relative_xdg_config_home_writes_no_key_under_the_working_directory(sandbox):
    os.chdir(sandbox)
    environ = {"HOME": str(sandbox / "home"), "XDG_CONFIG_HOME": "conf"}

    where = file_store.set_key("default", API_KEY, environ)

    assert where == str(sandbox / "home" / ".config" / "rgpu-exec" / "api-keys")
    assert not (sandbox / "conf").exists()
    assert file_store.get_key("default", environ) == API_KEY


def test_a_world_writable_directory_above_a_kubeconfig_is_said(sandbox, monkeypatch, capsys):
    shared = sandbox / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("KUBECONFIG", str(shared / "config"))

    assert main(GENERATE) == 0

    err = capsys.readouterr().err
    assert f"rgpu-exec: warning: other users can write to {shared}, which holds" in err
    assert (shared / "config").exists()


def test_a_private_directory_above_a_kubeconfig_is_not_flagged(kubeconfig, capsys):
    kubeconfig.parent.chmod(0o700)
    assert main(GENERATE) == 0
    assert "other users can write" not in capsys.readouterr().err


def test_a_world_writable_directory_above_the_key_file_is_said(sandbox):
    shared = sandbox / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    environ = {"HOME": str(sandbox / "home"), "XDG_CONFIG_HOME": str(shared)}
    said: list[str] = []

    done = login_usecase.store(
        "default", API_KEY, environ, verify="--no-verify was given", insecure_storage=True
    )
    said += [text for kind, text in done.said if kind == "warning"]
    assert done.error is None

    assert file_store.get_key("default", environ) == API_KEY
    assert [line for line in said if f"other users can write to {shared}" in line]
    assert API_KEY not in "".join(said)


def test_a_fifo_planted_as_the_kubeconfig_backup_is_never_replaced(kubeconfig, capsys):
    assert main(GENERATE) == 0
    before = kubeconfig.read_text()
    backup = kubeconfig.with_name("kubeconfig.rgpu-exec.bak")
    os.mkfifo(backup, 0o600)
    moved = [a if a != "https://k8s.example:6443" else "https://k8s2.example" for a in GENERATE]

    assert main(moved) == 2

    assert f"{backup} is a FIFO (named pipe), not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(backup.lstat().st_mode)
    assert kubeconfig.read_text() == before  # the backup goes first: nothing was changed


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--context", API_KEY),
        ("--context", f"ml-{API_KEY}"),
        ("--profile", API_KEY),
        ("--exec-command", f"/opt/{API_KEY}/rgpu-exec"),
    ],
    ids=["context", "context-with-key-inside", "profile", "exec-command"],
)
@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
def test_a_key_pasted_as_a_written_value_is_refused_and_never_written(
    kubeconfig, capsys, flag, value, dry_run
):
    dry = ["--dry-run"] if dry_run else []
    args = (
        [a for a in GENERATE if a not in ("--exec-command", "rgpu-exec")]
        if flag == ("--exec-command")
        else GENERATE
    )

    assert main([*args, flag, value, *dry]) == 2

    captured = capsys.readouterr()
    assert f"the value of {flag} looks like an API key" in captured.err
    assert "nothing was written" in captured.err
    assert API_KEY[13:] not in captured.out + captured.err
    assert not kubeconfig.exists()


def test_a_key_known_to_the_process_is_refused_as_a_written_value_whatever_its_shape(
    kubeconfig, capsys, monkeypatch
):
    odd_key = "not-a-remotegpu-shaped-secret-0123456789"
    monkeypatch.setenv("REMOTEGPU_API_KEY", odd_key)

    assert main([*GENERATE, "--context", odd_key]) == 2

    assert "the value of --context looks like an API key" in capsys.readouterr().err
    assert not kubeconfig.exists()


def test_a_foreign_user_is_named_with_the_contexts_that_use_it_and_force_says_what_it_replaced(
    kubeconfig, capsys
):
    body, _ = FOREIGN_USERS["client-certificate"]
    contexts = "- name: prod\n  context:\n    cluster: prod\n    user: rgpu-team-ml\n"
    kubeconfig.write_text(_config(f"- name: rgpu-team-ml\n  {body}", contexts=contexts))

    assert main(GENERATE) == 2
    refused = capsys.readouterr().err
    assert (
        f"user 'rgpu-team-ml' in {kubeconfig} (a user with a client certificate, used by "
        "context 'prod')" in refused
    )

    assert main([*GENERATE, "--force"]) == 0
    said = capsys.readouterr().out
    assert (
        "replaced user 'rgpu-team-ml' (a user with a client certificate, used by context 'prod')"
        in said
    )


def test_a_fifo_kubeconfig_is_refused_by_its_reader_never_waited_on(kubeconfig, capsys):
    os.mkfifo(kubeconfig)  # nobody writes into it: a blocking open would wait for ever

    assert main(["kubeconfig", "list"]) == 2

    assert f"the kubeconfig {kubeconfig} is a FIFO" in capsys.readouterr().err
