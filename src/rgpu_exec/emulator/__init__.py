"""A local RemoteGPU emulator for tests and demos: CONTRACT.md's API and a TLS Kubernetes front.

Not product code: the plugin never imports it (a test checks). Needs the `emulator` extra.
    models      state and rules (no HTTP)            kube_store  Kubernetes objects in memory
    responses   the RemoteGPU API routes              kube        the Kubernetes front
    control     the /_emulator/ control plane         faults      fault injection
    server      HTTP and TLS plumbing                 testing     run it as a subprocess, drive it
"""
