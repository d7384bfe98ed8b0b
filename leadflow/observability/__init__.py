"""Operability: structured logs (with secrets scrubbed), request ids, Prometheus metrics."""
