"""The kubeconfig service: kubectl's files read and edited safely, for `kubeconfig generate |
import | remove | list`, check, whoami and doctor. The flags are `commands/kubeconfig*`, the
flows `usecases/kubeconfig_*`.

    files        which files (KUBECONFIG, --kubeconfig), kubectl's `<file>.lock`, backup, write
    view         the merged view kubectl reads; listing: the contexts rgpu-exec manages
    document     a kubeconfig file's text: validated with a fast loader, edited by splicing
    splice, roundtrip, yaml_bounds   comment-preserving edits; no alias bombs
    merge        pure rules on one entry at a time; `Changes`, what a plan changes
    edit         plan, diff, locked write
    planners     what generate, import and remove change; ownership: whose an entry is
    entries      the cluster, user (exec stanza) and context that `generate` writes
    console      the facts read from a kubeconfig downloaded from the RemoteGPU console
    masking      what a dry-run diff may show

Nothing here is imported when the CLI starts; each module is imported on use.
"""
