"""station_controller: registry, enrollment, MQTT ingest, REST API and console."""

__version__ = "0.1.0"
