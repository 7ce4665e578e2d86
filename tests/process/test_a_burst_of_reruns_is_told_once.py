"""kubectl runs a failing plugin 5 or 6 times per command, printing its stderr each time: the
installed `rgpu-exec token` tells a failure in full once per burst, then in one line."""

from __future__ import annotations

import time

import pytest

from rgpu_exec.usecases.token import FAILURE_DAMPING_SECONDS

from conftest import API_KEY


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"REMOTEGPU_API_KEY": f'"{API_KEY}"'}, id="quoted-key"),
        pytest.param({"KUBERNETES_EXEC_INFO": "{not json"}, id="malformed-exec-info"),
    ],
)
def test_a_burst_of_kubectl_reruns_gets_the_full_explanation_once_then_one_line(
    run_token_in_process, fake_api, env
) -> None:
    started = time.monotonic()  # the failure is recorded after this: its window ends later
    first = run_token_in_process(env=env)
    assert first.returncode in {2, 3}
    assert first.stderr.startswith("rgpu-exec: ")
    assert "[same failure" not in first.stderr
    for n in range(4):
        again = run_token_in_process(env=env)
        assert again.returncode == first.returncode
        if n and time.monotonic() - started >= FAILURE_DAMPING_SECONDS:
            break  # a busy machine: the burst's window is over (the first rerun is always in it)
        assert again.stderr.count("\n") == 1, again.stderr
        assert "[same failure as" in again.stderr
        assert len(again.stderr) < len(first.stderr) + 120
    assert fake_api.count == 0
