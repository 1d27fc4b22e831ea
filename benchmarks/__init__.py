"""Benchmark harness for mlgov: a synthetic tenant, an HTTPS emulator of the APIs mlgov reads,
a runner that audits the emulator through `mlgov.audit.run_audit`, and a naive baseline.

Nothing here is imported by mlgov; see benchmarks/README.md.
"""
