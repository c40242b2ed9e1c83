"""Our own Mosquitto: generated config in a data dir, own port, never the system-wide instance."""

from __future__ import annotations

import getpass
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from ..broker import BrokerAccountFiles, BrokerConfig, write_config
from .errors import PortInUse, ServiceStartError
from .ports import free_port, port_accepts, port_is_free
from .processes import ManagedProcess

logger = logging.getLogger(__name__)


class MosquittoService:
    """A Mosquitto process whose config, credentials, persistence and log live in ``data_dir``."""

    def __init__(
        self,
        *,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        service_users: Sequence[str] = ("controller",),
        binary: str = "mosquitto",
        start_timeout_s: float = 15.0,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        pid_file: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.start_timeout_s = start_timeout_s
        self.config = BrokerConfig(
            data_dir=self.data_dir,
            port=self.port,
            host=host,
            password_file=Path(password_file or self.data_dir / "passwd").resolve(),
            acl_file=Path(acl_file or self.data_dir / "acl").resolve(),
            pid_file=Path(pid_file or self.data_dir / "mosquitto.pid").resolve(),
            log_file=self.data_dir / "mosquitto.log",
            run_as_user=getpass.getuser(),
        )
        self.config_file = self.data_dir / "mosquitto.conf"
        self.log_file = self.data_dir / "mosquitto.log"
        self.accounts = BrokerAccountFiles(
            password_file=self.config.password_file,
            acl_file=self.config.acl_file,
            pid_file=self.config.pid_file,
            service_users=service_users,
        )
        self._process = ManagedProcess(
            name="mosquitto",
            argv=[_which(binary), "-c", str(self.config_file)],
            log_file=self.data_dir / "mosquitto.stdout.log",
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.running

    def start(self) -> None:
        """Render the config, make sure the credential files exist, start, wait for the port.

        Raises:
            PortInUse: something else listens on our port.
            ServiceStartError: Mosquitto exited or did not accept connections in time.
        """
        if self.running:
            return
        if not port_is_free(self.port, self.host):
            raise PortInUse(
                f"port {self.host}:{self.port} is taken (a system mosquitto? stop it or choose another port)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.accounts.ensure_exist()
        write_config(self.config, self.config_file)
        self.config.pid_file.unlink(missing_ok=True)
        self._process.start(ready=self._ready, timeout_s=self.start_timeout_s)
        logger.info("mosquitto listening on %s:%d, data in %s", self.host, self.port, self.data_dir)

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistence file), SIGKILL if it hangs."""
        self._process.stop()

    def restart(self) -> None:
        """Stop and start on the same port with the same data (retained messages, sessions)."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _ready(self) -> bool:
        # The pid file proves it is *our* process that accepts, not some other listener.
        pid_file = self.config.pid_file
        return pid_file.exists() and port_accepts(self.port, self.host)


def _which(binary: str) -> str:
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin")
    if found is None:
        raise ServiceStartError(f"{binary} not found: run `make setup` (installs the mosquitto package)")
    return found
