"""`run_cli` (tests/conftest.py) runs the command line in the test's process: each run must
start as a new process would, with nothing left behind by the run before it."""

from __future__ import annotations

import json
import logging
import os

from conftest import API_KEY


def test_a_runs_environment_and_debug_log_end_with_it(run_token_in_process, fake_api):
    logged = run_token_in_process(env={"RGPU_EXEC_LOG": "debug"})
    quiet = run_token_in_process()

    assert logged.returncode == quiet.returncode == 0, logged.stderr + quiet.stderr
    assert "rgpu-exec: DEBUG" in logged.stderr
    assert quiet.stderr == ""  # no handler, level or variable left by the first run
    assert "RGPU_EXEC_LOG" not in os.environ
    assert logging.getLogger("rgpu_exec").handlers == []


def test_a_runs_output_and_exit_code_are_its_own(run_cli):
    failed = run_cli(["cache", "clear", "--bogus"])
    listed = run_cli(["cache", "list", "-o", "json"])

    assert failed.returncode == 2
    assert type(failed.returncode) is int  # as a process's exit status, not an enum member
    assert failed.stdout == ""
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["entries"] == []
    assert listed.stderr == ""


def test_stdin_is_the_runs_own_and_never_a_terminal(run_cli, keyring_file):
    stored = run_cli(["login", "--no-verify", "--insecure-storage"], stdin=API_KEY)
    nothing = run_cli(["scope", "validate"])  # no stdin given: empty, not a terminal

    assert stored.returncode == 0, stored.stderr
    assert API_KEY not in stored.stdout + stored.stderr
    assert nothing.returncode == 2
    # It read stdin (empty) rather than calling it a terminal ("no scope payload:").
    assert nothing.stderr.startswith("rgpu-exec: no scope payload (stdin was empty)")
