# Two commands on a fresh machine: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# pytest keeps the test modules it rewrote (for its assertions) in __pycache__, as Python keeps
# bytecode; where PYTHONDONTWRITEBYTECODE is set it rewrites every one of them again in every
# worker on every run (seconds of each run's CPU).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo test test-fast lint typecheck pytest pytest-quick test-python mutation long bench clean completion-table

# Bare Debian/Ubuntu ship python3 without venv (ensurepip): say so in one line, not a traceback.
$(PY):
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "make: '$(PYTHON) -m venv' needs the python3-venv package: sudo apt-get install python3-venv" >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Both distributions, editable: the product (with its dev tools) and the emulator beside it.
# Re-installed when either's dependencies change, or the launcher (a script file, copied at
# install time).
$(STAMP): pyproject.toml emulator/pyproject.toml scripts/rgpu-exec | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]' -e ./emulator
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m rgpu_emulator.demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/vulture

# Two caches: the runs check the product with different options, and would otherwise each
# invalidate the other's.
typecheck: install
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --allow-untyped-defs --allow-incomplete-defs --cache-dir .mypy_cache/tests tests

# On every core. Tests that must not run beside each other share an xdist_group (--dist loadgroup
# runs a group on one worker, one test at a time): "timed" for the herds and the tests with
# wall-clock bounds of a few seconds, "secret-service" for the Secret Service daemon.
PYTEST_PARALLEL := -n auto --dist loadgroup
# The whole suite waits on processes, sockets and kubectl much of the time: one worker more than
# there are cores keeps the cores busy (its end-to-end tests took 24 % less time on 2 cores). The
# quick tests are CPU-bound: one worker a core.
CORES := $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
PYTEST_WHOLE := -n $(shell echo $$(($(CORES) + 1))) --dist loadgroup

# With branch coverage of src/rgpu_exec, measured in the test processes (not in the processes
# they start: see [tool.coverage] in pyproject.toml); it fails under the floor set there.
COVERAGE := --cov --cov-report=term-missing:skip-covered

pytest: install
	$(VENV)/bin/pytest $(PYTEST_WHOLE) $(COVERAGE) -m 'not long'

# The tests not marked slow, that is the tests that start no process (see tests/conftest.py),
# with a fifth of the property tests' examples (`make test` tries them all).
pytest-quick: install
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) -m 'not slow' -q --hypothesis-profile=quick

# The quick loop: lint, types and the quick tests, side by side (the quick tests wait on sockets
# and threads part of the time, and a cold mypy takes most of a core); each one's output is
# printed as a block when it ends.
test-fast: install
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck pytest-quick

# The quick tests on another interpreter, in a venv of its own (.venv-X.Y):
# `make test-python OTHER=python3.10`. CI runs it on the oldest and the newest Python (.ci/run).
test-python:
	@test -n "$(OTHER)" || { echo "make: name the interpreter: make test-python OTHER=python3.10" >&2; exit 2; }
	$(MAKE) --no-print-directory pytest-quick PYTHON="$(OTHER)" \
	  VENV=.venv-$$("$(OTHER)" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# Mutation testing (mutmut 3, [tool.mutmut] in pyproject.toml; not part of `make test`): the
# gates, the hot path and the scope rules against the quick tests. mutmut makes the mutants and
# the stats (MUTATION_JOBS workers: the machine is shared); tests/mutation/in_process.py runs
# them (one fork a mutant, the tests collected once). MUTANTS: which ones (mutmut's names, or
# patterns). `.venv/bin/mutmut results` lists the survivors afterwards, and
# tests/mutation/equivalent.md says why each one left is equivalent.
MUTATION_JOBS ?= 2
MUTANTS ?= rgpu_exec.*
mutation: install
	$(PY) -m pip install --quiet -e '.[dev,mutation]' -e ./emulator
	$(PY) tests/mutation/in_process.py --prepare $(MUTATION_JOBS) '$(MUTANTS)'
	PYTHONPATH=mutants/src $(PY) tests/mutation/in_process.py '$(MUTANTS)'
	$(PY) tests/mutation/score.py

# Lint and types beside the tests, as in the quick loop (a cold mypy takes most of a core for half
# a minute, while the tests wait on processes and sockets much of the time).
test: install
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck pytest

# The long runs (marked `long`), minutes of real time each: the soak at full scale (510
# processes through two expiries), the fault soak, the SIGKILL trials and the benchmarks' smoke
# run. Not part of `make test`; CI runs them after it (.ci/run).
long: install
	RGPU_TEST_SOAK=full $(VENV)/bin/pytest $(PYTEST_PARALLEL) -q -m long

# The commands as a TAB reads them (src/rgpu_exec/completion/table.py), from the parser: after a
# change of a command's flags or help (tests/unit/test_completion_table.py says when).
completion-table: install
	$(PY) scripts/completion_table.py
	$(VENV)/bin/ruff format --quiet src/rgpu_exec/completion/table.py

bench: install
	$(PY) -m pip install --quiet -e '.[dev,bench]' -e ./emulator
	$(PY) -m bench

clean:
	rm -rf $(VENV) .venv-* build *.egg-info src/*.egg-info emulator/src/*.egg-info .pytest_cache .mypy_cache .ruff_cache mutants .coverage .coverage.* htmlcov
