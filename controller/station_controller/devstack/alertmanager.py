"""Our own Prometheus Alertmanager (no cluster): groups, deduplicates, silences and routes alerts.

Its configuration is generated from the controller's settings (alerts/amconfig.py) and written 0600
(it holds the webhook token). API v2 at ``{url}/api/v2/`` (alerts, silences).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from .errors import PortInUse, ServiceStartError
from .ports import free_port, port_is_free
from .processes import ManagedProcess, http_ok

logger = logging.getLogger(__name__)


class AlertmanagerService:
    """A prometheus-alertmanager process with its config text and state in ``data_dir``."""

    def __init__(
        self,
        *,
        data_dir: Path,
        config_text: str,
        port: int | None = None,
        host: str = "127.0.0.1",
        binary: str = "prometheus-alertmanager",
        start_timeout_s: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.config_text = config_text
        self.start_timeout_s = start_timeout_s
        self.config_file = self.data_dir / "alertmanager.yml"
        self._process = ManagedProcess(
            name="alertmanager",
            argv=[
                _which(binary),
                f"--config.file={self.config_file}",
                f"--storage.path={self.data_dir / 'data'}",
                f"--web.listen-address={host}:{self.port}",
                f"--web.external-url={self.url}",
                # One node: no gossip port (it would bind 9094 on every interface).
                "--cluster.listen-address=",
            ],
            log_file=self.data_dir / "alertmanager.log",
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process.running

    def start(self) -> None:
        """Write the config, start and wait for ``/-/ready``.

        Raises:
            PortInUse: something else listens on our port.
            ServiceStartError: the config was refused, or it exited or never became ready.
        """
        if self.running:
            return
        if not port_is_free(self.port, self.host):
            raise PortInUse(f"port {self.host}:{self.port} is taken: stop the other program or choose a port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.config_text)
        self._process.start(ready=lambda: http_ok(f"{self.url}/-/ready"), timeout_s=self.start_timeout_s)
        logger.info("alertmanager on %s, state in %s", self.url, self.data_dir)

    def stop(self) -> None:
        """SIGTERM: it writes its silences and notification log to ``data/`` first."""
        self._process.stop(timeout_s=15.0)


def _which(binary: str) -> str:
    found = shutil.which(binary) or shutil.which(binary, path="/usr/bin:/usr/sbin")
    if found is None:
        raise ServiceStartError(f"{binary} not found: run `make setup` (installs prometheus-alertmanager)")
    return found
