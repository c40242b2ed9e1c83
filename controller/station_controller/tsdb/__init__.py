"""Time-series storage: line-protocol points, a writer with a bounded retry buffer, Prometheus-API queries."""
