"""rgpu-exec's benchmarks: `python -m bench` (or `make bench`) times rgpu-exec side by side with
what users would otherwise run, in a private sandbox with the emulator on loopback.

Modules: `timing` (alternated runs, medians, ratios), `sandbox` (the private world and its
kubeconfigs), `context` (what every measurement shares), one module per measurement, and
`report` (the tables written into the docs).
"""
