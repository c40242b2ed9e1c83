"""MQTT ingest: the controller's broker client, decode + validate, presence and latest values, counters."""
