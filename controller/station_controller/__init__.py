"""station_controller: registry, enrollment, MQTT ingest, REST API, console and simulator."""

__version__ = "0.1.0"
