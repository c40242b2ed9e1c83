"""`python -m station_controller.devstack run`: the whole stack on one machine for `make run`."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from ..broker import BrokerAccount, hash_password
from ..enrollment.broker_sync import controller_accounts
from ..settings import Settings
from .errors import DevstackError
from .hls import start_demo_stream
from .mosquitto import MosquittoService
from .processes import ManagedProcess, http_ok, run_tool
from .victoria import VictoriaService
from .vmalert import start_alerting

logger = logging.getLogger(__name__)

SECRET_NAMES = ("STATION_SECRET_KEY", "STATION_MQTT_PASSWORD", "STATION_ALERTS_WEBHOOK_TOKEN")
ADMIN_USERNAME = "admin"


def load_or_create_secrets(path: Path) -> dict[str, str]:
    """Read ``KEY=value`` secrets from ``path``; generate missing ones once and persist them (0600)."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                values[key.strip()] = value.strip()
    missing = [name for name in SECRET_NAMES if not values.get(name)]
    if missing:
        values.update({name: secrets.token_urlsafe(32) for name in missing})
        _write_private(path, "".join(f"{k}={v}\n" for k, v in sorted(values.items())))
    return values


class DevStack:
    """Mosquitto, VictoriaMetrics, the controller and one demo agent, started and stopped in order."""

    def __init__(self, *, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for name, value in load_or_create_secrets(self.data_dir / "secrets.env").items():
            os.environ.setdefault(name, value)  # an exported variable wins over the file
        os.environ["STATION_DATA_DIR"] = str(self.data_dir)
        self.settings = Settings()  # type: ignore[call-arg]  # secrets come from the environment
        self.logs = self.data_dir / "logs"
        self._stops: list[tuple[str, Callable[[], None]]] = []
        self._managed: list[ManagedProcess] = []
        # Handles for tests and operators (set as each part starts).
        self.broker: MosquittoService | None = None
        self.victoria: VictoriaService | None = None
        self.controller: ManagedProcess | None = None
        self.agent: ManagedProcess | None = None

    def start(self) -> None:
        """Start everything; on any failure stop what already runs and re-raise."""
        try:
            self._start_broker()
            self._start_victoria()
            self._stops.extend(start_alerting(self.settings, self.data_dir))  # alertmanager, vmalert
            self._prepare_registry()
            self._start_controller()
            self._start_agent()
            self._stops.extend(start_demo_stream(self.settings, self.data_dir))  # live HLS + demo lesson
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop in reverse start order."""
        while self._stops:
            name, stop = self._stops.pop()
            logger.info("stopping %s", name)
            try:
                stop()
            except Exception:
                logger.exception("stopping %s failed; continuing with the rest", name)

    def dead(self) -> list[str]:
        """Names of managed processes that exited on their own."""
        return [p.name for p in self._managed if not p.running]

    def _start_broker(self) -> None:
        s = self.settings
        # Settings fills all three from data_dir when they are not set.
        assert s.broker_password_file is not None
        assert s.broker_acl_file is not None
        assert s.broker_pid_file is not None
        controller = controller_accounts(s)  # one per controller process (main + ingest workers)
        broker = MosquittoService(
            data_dir=s.broker_password_file.parent,
            port=s.mqtt_port,
            host=s.mqtt_host,
            service_users=[account.username for account in controller],
            password_file=s.broker_password_file,
            acl_file=s.broker_acl_file,
            pid_file=s.broker_pid_file,
        )
        # Keep device accounts from earlier runs; only the controller's own passwords are (re)set here.
        broker.accounts.ensure_exist()
        for account in controller:
            broker.accounts.upsert(BrokerAccount(account.username, hash_password(account.password)))
        broker.start()
        self.broker = broker
        self._stops.append(("mosquitto", broker.stop))

    def _start_victoria(self) -> None:
        url = urlsplit(self.settings.tsdb_url)
        victoria = VictoriaService(
            data_dir=self.data_dir / "victoria", host=url.hostname or "127.0.0.1", port=url.port or 8428
        )
        victoria.start()
        self.victoria = victoria
        self._stops.append(("victoria-metrics", victoria.stop))

    def _prepare_registry(self) -> None:
        cli = _controller_cli()
        run_tool([cli, "migrate"], timeout_s=300)
        admin_file = self.data_dir / "admin-password.txt"
        if not admin_file.exists():
            # Our own generated password through stdin: nothing to parse out of the CLI's output.
            password = secrets.token_urlsafe(18)
            run_tool(
                [cli, "create-admin", "--username", ADMIN_USERNAME, "--password-stdin"],
                input_text=password + "\n",
            )
            _write_private(admin_file, password + "\n")
        agent_config = self.data_dir / "demo" / "agent.toml"
        if not agent_config.exists():
            agent_config.parent.mkdir(parents=True, exist_ok=True)
            run_tool([cli, "demo-station", "--out", str(agent_config)])

    def _start_controller(self) -> None:
        s = self.settings
        serve = ManagedProcess(
            name="controller", argv=[_controller_cli(), "serve"], log_file=self.logs / "controller.log"
        )
        base = f"http://{s.http_host}:{s.http_port}"
        serve.start(ready=lambda: http_ok(f"{base}/readyz"), timeout_s=60)
        self.controller = serve
        self._track(serve)

    def _start_agent(self) -> None:
        config = self.data_dir / "demo" / "agent.toml"
        agent = ManagedProcess(
            name="demo agent",
            argv=[sys.executable, "-m", "station_agent", "--config", str(config)],
            log_file=self.logs / "agent.log",
        )
        agent.start(ready=lambda: True, timeout_s=10)
        self.agent = agent
        self._track(agent)

    def _track(self, process: ManagedProcess) -> None:
        self._managed.append(process)
        self._stops.append((process.name, process.stop))


def run(*, data_dir: Path) -> int:
    """Start the stack, print how to log in, wait for Ctrl-C / SIGTERM, stop everything. Returns exit code."""
    stop_requested = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop_requested.set())
    stack = DevStack(data_dir=data_dir)
    try:
        stack.start()
    except DevstackError as exc:
        _say(f"dev stack failed to start: {exc}")
        return 1
    _say_ready(stack)
    code = 0
    while not stop_requested.wait(1.0):
        if dead := stack.dead():
            _say(f"{', '.join(dead)} exited; see {stack.logs}. Stopping the stack.")
            code = 1
            break
    stack.stop()
    return code


def _say_ready(stack: DevStack) -> None:
    s = stack.settings
    admin = (stack.data_dir / "admin-password.txt").read_text(encoding="utf-8").strip()
    _say(
        f"\nStation Fleet dev stack is up.\n"
        f"  console:  {s.public_url}/\n"
        f"  login:    {ADMIN_USERNAME} / {admin}   (also in {stack.data_dir / 'admin-password.txt'})\n"
        f"  MQTT:     {s.mqtt_host}:{s.mqtt_port}   VictoriaMetrics: {s.tsdb_url}\n"
        f"  alerts:   {s.public_url}/console/alerts/   vmalert: {s.alerts_vmalert_url}"
        f"   Alertmanager: {s.alerts_alertmanager_url}\n"
        f"  logs:     {stack.logs}/ and {stack.data_dir / 'broker' / 'mosquitto.log'}\n"
        f"Press Ctrl-C to stop.\n"
    )


def _controller_cli() -> str:
    # The venv's script next to this interpreter, so `make run` never picks up another install.
    candidate = Path(sys.executable).parent / "station-controller"
    found = str(candidate) if candidate.exists() else shutil.which("station-controller")
    if found is None:
        raise DevstackError("station-controller not installed: run `make setup`")
    return found


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
