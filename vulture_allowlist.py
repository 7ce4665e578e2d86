"""Names the dead-code check (`make lint`: vulture, configured in pyproject.toml) must not report.

Each entry is used where vulture cannot see it; the comment says by whom. Add an entry only with
its reason: anything else vulture finds is dead, and goes.
"""

_ = object()

# pydantic reads these: each model's configuration, and validators it calls by decorator.
_.model_config
_._supported  # rgpu_exec.api.api_contract: the ExecCredential's apiVersion validator
_._check  # rgpu_exec.scopes: the documented rules, as a model validator

# The standard library calls or reads these on the subclasses that set them.
_._print_message  # argparse: rgpu_exec.cli_parser.Parser routes argparse's writes through the gate
_.traceback  # the context-manager protocol's __exit__ signature
_.exc_type
_.tb
_.frame  # a signal handler's signature (the emulator's SIGTERM)
_.signum
_.daemon_threads  # socketserver: the emulator's servers
_.allow_reuse_address
_.request_queue_size
_.address_family
_.protocol_version  # http.server: the emulator's request handler
_.disable_nagle_algorithm
_.server_version
_.sys_version
_.date_time_string
_.close_connection
_.do_POST
_.do_PUT
_.do_PATCH
_.do_DELETE

# ruamel.yaml reads it: keep the quoting of every kubeconfig value as written.
_.preserve_quotes

# The file formats of `second_ask`: a test holds the table in docs/architecture.md equal to them
# (tests/unit/test_architecture_doc.py).
_.SERVED_FIELDS
_.FORCED_FIELDS
_.ACCEPTED_FIELDS

# Test seams, on purpose: tests run many commands in one process (the known keys of the output
# gate are forgotten between them), and drive the emulator's control plane (token lookup).
_.forget_all  # rgpu_exec.output
_.lookup_token  # rgpu_emulator.testing, the emulator's client for tests

# Used outside the checked folders: by the benchmarks (bench/) and the tests.
_.own_parent  # rgpu_emulator.testing: runs a command as the child of a process of its own

# Called by scripts/completion_table.py (`make completion-table`), outside the checked paths.
_.to_table

# The rule a fix's command is held to, read by its test (every command in the source's messages).
_.placeholder  # rgpu_exec.fixes: tests/unit/test_every_fix_runs_as_printed.py
