"""Provisioning jobs: one named action run per device in a worker pool, with per-device results."""
