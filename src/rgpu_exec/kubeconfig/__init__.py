"""`rgpu-exec kubeconfig generate | import | remove`: per-namespace contexts, merged safely.

    command   argparse registration; parses flags and calls one use case
    usecase   the flow: read files → plan → verify → dry-run diff, or lock → re-read → write
    entries   the cluster, user (exec stanza) and context that `generate` writes
    console   the facts read from a kubeconfig downloaded from the RemoteGPU console
    document  a kubeconfig file's text: validated with a fast loader, edited by splicing
    merge     pure rules on one entry at a time (round-trip ruamel.yaml objects)
    files     which files, kubectl's `<file>.lock`, backup, temp file + rename

Only `command` is imported when the CLI starts; everything else is imported on use.
"""
