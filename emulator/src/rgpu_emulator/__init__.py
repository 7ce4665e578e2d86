"""A local RemoteGPU emulator for tests and demos: the API of docs/api-contract.md and a TLS
Kubernetes front.

Its own distribution (`rgpu-emulator`), not product code: rgpu-exec never imports it (a test
checks), and its wheel holds none of it.
    models      state and rules (no HTTP)            kube_store  Kubernetes objects in memory
    responses   the RemoteGPU API routes              kube        the Kubernetes front
    control     the /_emulator/ control plane         faults      fault injection
    server      HTTP and TLS plumbing                 testing     run it as a subprocess, drive it
    demo        `make demo`: the whole user journey against a fresh emulator
"""
