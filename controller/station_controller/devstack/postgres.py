"""A private PostgreSQL cluster in a temp dir, run as the ``postgres`` user (it refuses to run as root)."""

from __future__ import annotations

import logging
import os
import pwd
import re
import secrets
import shutil
import tempfile
from pathlib import Path

from .errors import ServiceStartError, ToolFailed
from .ports import free_port
from .processes import as_user, run_tool

logger = logging.getLogger(__name__)

_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def find_bin_dir() -> Path:
    """The newest Debian PostgreSQL server bin dir (``/usr/lib/postgresql/<major>/bin``).

    Raises:
        ServiceStartError: no server is installed.
    """
    candidates = [p for p in Path("/").glob(_BIN_GLOB.lstrip("/")) if (p / "initdb").exists()]
    if not candidates:
        raise ServiceStartError("PostgreSQL server not found: run `make setup` (installs postgresql)")
    return max(candidates, key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))


class PostgresService:
    """initdb + pg_ctl in a fresh temp dir owned by ``os_user``; listens on 127.0.0.1 only."""

    def __init__(
        self,
        *,
        database: str = "station",
        port: int | None = None,
        os_user: str = "postgres",
        bin_dir: Path | None = None,
    ) -> None:
        self.database = database
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port()
        # Only root can hand the cluster to another user; anyone else runs it as themselves.
        self.os_user = os_user if os.geteuid() == 0 else None
        self.bin_dir = bin_dir or find_bin_dir()
        self.password = secrets.token_urlsafe(24)
        self.base_dir: Path | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the database (password auth over TCP)."""
        return f"postgresql+psycopg://postgres:{self.password}@{self.host}:{self.port}/{self.database}"

    @property
    def data_dir(self) -> Path:
        return self._base() / "data"

    def start(self) -> None:
        """Create the cluster on first start, start the server, create the database.

        Raises:
            ToolFailed: initdb, pg_ctl or createdb failed (its output is in the message).
        """
        first = self.base_dir is None
        if first:
            self._make_base_dir()
            self._initdb()
        self._pg_ctl(
            "start", "-w", "-t", "60", "-l", str(self._base() / "postgres.log"), "-o", self._server_options()
        )
        if first:
            self._tool(
                "createdb",
                "-h",
                str(self._socket_dir()),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                self.database,
            )
        logger.info("postgresql on %s:%d, data in %s", self.host, self.port, self.data_dir)

    def stop(self) -> None:
        """Fast shutdown (disconnects clients, then a clean checkpoint); data is kept for ``start()``."""
        if self.base_dir is None or not (self.data_dir / "postmaster.pid").exists():
            return
        self._pg_ctl("stop", "-w", "-m", "fast")

    def destroy(self) -> None:
        """Stop and delete the whole cluster."""
        try:
            self.stop()
        finally:
            if self.base_dir is not None:
                shutil.rmtree(self.base_dir, ignore_errors=True)
                self.base_dir = None

    def _make_base_dir(self) -> None:
        # Not under pytest's tmp dir: that is 0700 root and the postgres user could not enter it.
        self.base_dir = Path(tempfile.mkdtemp(prefix="station-pg-"))
        (self.base_dir / "run").mkdir()
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        if self.os_user is not None:
            entry = pwd.getpwnam(self.os_user)
            for path in (self.base_dir, self.base_dir / "run", pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        pwfile.chmod(0o600)

    def _initdb(self) -> None:
        pwfile = self._base() / "pwfile"
        self._tool(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        pwfile.unlink()

    def _server_options(self) -> str:
        return f"-k {self._socket_dir()} -p {self.port} -c listen_addresses={self.host} -c fsync=off"

    def _pg_ctl(self, *args: str) -> None:
        self._tool("pg_ctl", "-D", str(self.data_dir), *args)

    def _tool(self, name: str, *args: str) -> str:
        try:
            return run_tool(as_user(self.os_user, [str(self.bin_dir / name), *args]), cwd=self._base())
        except ToolFailed:
            logger.error("postgresql %s failed; server log: %s", name, self._base() / "postgres.log")
            raise

    def _socket_dir(self) -> Path:
        return self._base() / "run"

    def _base(self) -> Path:
        if self.base_dir is None:
            raise ServiceStartError("PostgreSQL cluster not created yet: call start() first")
        return self.base_dir
