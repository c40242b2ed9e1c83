"""Real services on one machine (Mosquitto, VictoriaMetrics, PostgreSQL) for `make run` and the tests."""

from .errors import DevstackError, PortInUse, ServiceStartError, ToolFailed
from .mosquitto import MosquittoService
from .ports import free_port, port_is_free
from .postgres import PostgresService
from .victoria import VictoriaService

__all__ = [
    "DevstackError",
    "MosquittoService",
    "PortInUse",
    "PostgresService",
    "ServiceStartError",
    "ToolFailed",
    "VictoriaService",
    "free_port",
    "port_is_free",
]
