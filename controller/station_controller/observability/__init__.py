"""The controller's own metrics: ingest counters exposed in Prometheus text format at ``/metrics``."""
