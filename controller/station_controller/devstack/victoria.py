"""Our own VictoriaMetrics single node: own data dir and port, dedup so redelivered samples collapse."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from .errors import PortInUse, ServiceStartError
from .ports import free_port, port_is_free
from .processes import ManagedProcess, http_ok

logger = logging.getLogger(__name__)


class VictoriaService:
    """A victoria-metrics process; writes go to ``{url}/api/v2/write``, queries to ``{url}/api/v1/query``."""

    def __init__(
        self,
        *,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        retention: str = "1y",
        binary: str = "victoria-metrics",
        start_timeout_s: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.start_timeout_s = start_timeout_s
        self._process = ManagedProcess(
            name="victoria-metrics",
            argv=[
                _which(binary),
                f"-storageDataPath={self.data_dir / 'storage'}",
                f"-httpListenAddr={host}:{self.port}",
                # Every point carries the device's sample time; a redelivered sample collapses onto it.
                "-dedup.minScrapeInterval=1ms",
                f"-retentionPeriod={retention}",
                # Recently written points become queryable at once instead of after ~30 s.
                "-search.latencyOffset=0s",
            ],
            log_file=self.data_dir / "victoria-metrics.log",
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process.running

    def start(self) -> None:
        """Start and wait for ``/health``.

        Raises:
            PortInUse: something else listens on our port.
            ServiceStartError: it exited or never answered ``/health``.
        """
        if self.running:
            return
        if not port_is_free(self.port, self.host):
            raise PortInUse(f"port {self.host}:{self.port} is taken: stop the other program or choose a port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process.start(ready=lambda: http_ok(f"{self.url}/health"), timeout_s=self.start_timeout_s)
        logger.info("victoria-metrics on %s, data in %s", self.url, self.data_dir)

    def stop(self) -> None:
        """SIGTERM (it flushes in-memory parts to disk), SIGKILL if it hangs."""
        self._process.stop(timeout_s=30.0)

    def restart(self) -> None:
        self.stop()
        self.start()


def _which(binary: str) -> str:
    found = shutil.which(binary) or shutil.which(binary, path="/usr/bin:/usr/sbin")
    if found is None:
        raise ServiceStartError(
            f"{binary} not found: run `make setup` (installs the victoria-metrics package)"
        )
    return found
