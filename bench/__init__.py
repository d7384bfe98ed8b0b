"""leadflow benchmarks: `python -m bench [--quick]`.

Measures routing decision latency in process, HTTP intake latency and throughput against a
real server on SQLite, and a same-run baseline of durable single-row SQLite commits.
Results go to bench/results/<name>.json and a summary to docs/performance.md.
"""
