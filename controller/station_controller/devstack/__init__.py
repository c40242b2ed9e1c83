"""Development tooling, not part of a deployment: real services on one machine (Mosquitto,
VictoriaMetrics, PostgreSQL) in a data dir, on their own ports.

Used by `make run` (``python -m station_controller.devstack run``: broker, TSDB, controller and one
demo agent), by the test fixtures (tests/conftest.py, tests/e2e/conftest.py) and by the benches
(bench/). A production controller never imports it: there the broker, TSDB and database are run and
configured by the operator (docs/operations.md).
"""

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
