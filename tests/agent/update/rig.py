"""A device with A/B agent slots for tests: real releases (stationctl firmware build/sign), the real
launcher in its own process group, a Range-capable file server and a controller-side MQTT client.

Nothing is faked: releases are real wheels of (patched copies of) this repo's agent, the launcher is
agent/station_agent/update/launcher.py as the playbook installs it, the broker is the session Mosquitto.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import station_protocol as sp
from station_protocol import firmware as fw
from support import BrokerHandle, MqttTestClient, wait_until

REPO = Path(__file__).resolve().parents[3]
LAUNCHER = REPO / "agent" / "station_agent" / "update" / "launcher.py"
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)  # no venv: the slot is all there is
STATIONCTL = [sys.executable, "-c", "import sys; from stationctl.cli import main; sys.exit(main())"]

# Build variants: (file in the agent package, old text, new text).
CRASH = ("runtime.py", "    identity = resolve_identity(cfg, stop=stop)\n",
         "    raise RuntimeError('this build crashes at start')\n")  # fmt: skip
NO_BROKER = (
    "runtime.py",
    "    return MqttLink(options,",
    "    return MqttLink(__import__('dataclasses').replace(options, port=1),",
)


def stationctl(*args: str) -> str:
    proc = subprocess.run([*STATIONCTL, *args], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"stationctl {args}: {proc.stderr}"
    return proc.stdout


def build_release(
    out: Path, version: str, *, patch: tuple[str, str, str] | None = None, extra: tuple[str, ...] = ()
) -> Path:
    """A real agent release directory of ``version`` (a patched copy of agent/), unsigned."""
    src = out / f"src-{version}-{uuid.uuid4().hex[:6]}"
    shutil.copytree(REPO / "agent", src, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
    _replace(src / "pyproject.toml", 'version = "0.1.0"', f'version = "{version}"')
    _replace(src / "station_agent" / "__init__.py", '__version__ = "0.1.0"', f'__version__ = "{version}"')
    if patch is not None:
        _replace(src / "station_agent" / patch[0], patch[1], patch[2])
    outdir = out / f"out-{src.name}"
    printed = stationctl("firmware", "build", "agent", "--version", version, "--agent-dir", str(src),
                         "--protocol-dir", str(REPO / "protocol"), "--out", str(outdir), *extra)  # fmt: skip
    return Path(printed.strip().splitlines()[-1])


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found; update the test's patch"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def keygen(path: Path) -> tuple[str, str]:
    key_id, pub = stationctl("firmware", "keygen", "--out", str(path)).split()
    return key_id, pub


def sign(release: Path, *keys: Path) -> bytes:
    stationctl("firmware", "sign", str(release), *[a for k in keys for a in ("--key", str(k))])
    return (release / "manifest.signed.json").read_bytes()


def resign(release: Path, key: Path, name: str, **changes: Any) -> str:
    """A sibling release document with manifest fields changed, signed by ``key``; returns its name."""
    manifest = json.loads((release / "manifest.json").read_text())
    manifest.update(changes)
    doc_dir = release.parent / name
    doc_dir.mkdir(exist_ok=True)
    (doc_dir / "manifest.json").write_text(json.dumps(manifest))
    stationctl("firmware", "sign", str(doc_dir), "--key", str(key))
    link = doc_dir / "files"
    if not link.exists():
        link.symlink_to(release / "files")
    return name


class FileServer:
    """Serves a directory over HTTP with ``Range: bytes=N-``; records each request's path and Range."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str | None]] = []
        self.rate_bps = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append((self.path, self.headers.get("Range")))
                path = (server.root / self.path.lstrip("/")).resolve()
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                view = memoryview(data)[start:]
                step = 16384
                for i in range(0, len(view), step):
                    self.wfile.write(view[i : i + step])
                    if server.rate_bps:
                        time.sleep(step / server.rate_bps)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass
class Device:
    """One box: update root with slots, agent config, the launcher process (its own process group)."""

    base: Path
    device_id: str
    broker: BrokerHandle
    password: str = ""
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.base / "root"

    def install(self, release: Path, version: str, pub: tuple[str, str]) -> None:
        self.password = self.broker.add_device(self.device_id)
        subprocess.run(
            [BASE_PYTHON, str(LAUNCHER), "--root", str(self.root), "init", "--wheels",
             str(release / "files" / "wheels"), "--version", version],
            check=True, timeout=120,
        )  # fmt: skip
        self.pin(*pub)
        settings = {"python": BASE_PYTHON, "check_interval_s": 0.2, "progress_interval_s": 0.3}
        settings.update(retries=3, retry_max_s=1.0, http_timeout_s=10.0)
        (self.root / "update.json").write_text(json.dumps(settings))
        (self.base / "agent.toml").write_text(self._config(), encoding="utf-8")

    def pin(self, key_id: str, pub: str, role_dir: str = "firmware") -> None:
        keys = self.root / "keys" / role_dir
        keys.mkdir(parents=True, exist_ok=True)
        (keys / f"{key_id}.pub").write_text(pub + "\n")

    def _config(self) -> str:
        return f"""
state_dir = "{self.base / "state"}"
[device]
id = "{self.device_id}"
role = "stb"
[mqtt]
host = "{self.broker.host}"
port = {self.broker.port}
username = "{self.device_id}"
password = "{self.password}"
keepalive = 10
reconnect_min_s = 0.2
reconnect_max_s = 1.0
[telemetry]
interval_s = 1
content_path = "{self.base}"
[commands]
reboot_dry_run = true
"""

    def start(self, fault: str | None = None, boot_id: str | None = None) -> None:
        """Start the launcher (as systemd would); ``fault``: "<step> agent|power" (update/faults.py).

        ``boot_id``: a new boot, modelled with a private mount namespace in which a file holding it is
        bind-mounted over /proc/sys/kernel/random/boot_id (what the agent reads for its birth).
        """
        env = {**os.environ, **self.extra_env}
        env.pop("STATION_UPDATE_ROOT", None)
        if fault:
            (self.base / "fault").write_text(fault)
            env["STATION_FIRMWARE_FAULT_FILE"] = str(self.base / "fault")
        self.starts += 1
        argv = [BASE_PYTHON, str(self.root / "launcher.py"), "--root", str(self.root), "run",
                "--python", BASE_PYTHON, "--restart-delay-s", "0.3", "--",
                "--config", str(self.base / "agent.toml"), "--log-level", "DEBUG"]  # fmt: skip
        if boot_id is not None:
            (self.base / "boot_id").write_text(boot_id + "\n")
            mount = f'mount --bind {self.base / "boot_id"} /proc/sys/kernel/random/boot_id && exec "$@"'
            argv = ["unshare", "--mount", "sh", "-c", mount, "sh", *argv]
        with (self.base / "launcher.log").open("ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def power_cut(self) -> None:
        """SIGKILL the launcher and the agent (the whole process group), as a power cut would."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        _reap_group(self.proc.pid)

    def wait_dead(self, timeout: float = 60.0) -> None:
        """The launcher's group died by itself (a ``power`` fault)."""
        assert self.proc is not None
        self.proc.wait(timeout)
        _reap_group(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        _reap_group(self.proc.pid)

    def boot(self) -> dict[str, Any]:
        return json.loads((self.root / "boot.json").read_text())

    def slot_version(self, slot: str) -> str | None:
        path = self.root / "slots" / slot / "SLOT.json"
        return json.loads(path.read_text())["version"] if path.exists() else None

    def log_text(self, tail: int = 6000) -> str:
        path = self.base / "launcher.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text[-tail:] if tail else text

    def assert_one_working_version(self, version: str) -> None:
        """No half-written slot; the active slot holds ``version`` completely; no trial pending."""
        boot = self.boot()
        assert boot["pending"] is None
        assert self.slot_version(boot["active"]) == version
        leftovers = [p.name for p in (self.root / "slots").iterdir() if p.name not in ("a", "b")]
        assert leftovers == []
        site = self.root / "slots" / boot["active"] / "site" / "station_agent" / "__init__.py"
        assert f'__version__ = "{version}"' in site.read_text()


def _reap_group(pgid: int) -> None:
    """Wait until no process of the group is left (the agent may outlive the launcher by a moment)."""

    def gone() -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(gone, timeout=20, message=f"process group {pgid} gone")


class Controller:
    """The controller's side of one device on the real broker: commands out, births/events/results in."""

    def __init__(self, broker: BrokerHandle, device_id: str) -> None:
        self.device_id = device_id
        self.client = MqttTestClient(
            host=broker.host,
            port=broker.port,
            username=broker.controller_username,
            password=broker.controller_password,
        )
        self.client.connect()
        self.client.subscribe(f"st/v1/{device_id}/#")

    def close(self) -> None:
        self.client.close()

    def _bodies(self, kind: str) -> list[dict[str, Any]]:
        out = []
        for msg in self.client.received():
            try:
                data = json.loads(msg.payload)
            except ValueError:
                continue
            if data.get("kind") == kind:
                out.append(data["body"])
        return out

    def births(self) -> list[dict[str, Any]]:
        return self._bodies("birth")

    def progress(self, job_id: str | None = None) -> list[dict[str, Any]]:
        out = [b["detail"] for b in self._bodies("event") if b["name"] == fw.PROGRESS]
        return [d for d in out if job_id is None or d["job_id"] == job_id]

    def states(self, job_id: str) -> list[str]:
        return [d["state"] for d in self.progress(job_id)]

    def update(self, server: FileServer, release_name: str, version: str, **args: Any) -> str:
        job_id = "fw-" + uuid.uuid4().hex[:10]
        url = f"{server.url}/{release_name}/manifest.signed.json"
        body = {"release_id": f"agent-{version}", "kind": "agent", "version": version, "manifest_url": url}
        body.update(job_id=job_id, **args)
        self.command(fw.UPDATE, body)
        return job_id

    def command(self, name: str, args: dict[str, Any]) -> str:
        cmd = sp.Command(name=name, expires_at=sp.now_ms() + 600_000, timeout_s=30.0, args=args)
        env = sp.make(self.device_id, cmd)
        self.client.publish(f"st/v1/{self.device_id}/cmd", sp.encode(env), qos=1)
        return env.id

    def wait_terminal(self, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
        def terminal() -> dict[str, Any] | None:
            done = [d for d in self.progress(job_id) if d["state"] in fw.TERMINAL_STATES]
            return done[-1] if done else None

        result = wait_until(terminal, timeout=timeout, interval=0.2, message=f"job {job_id} finished")
        assert result is not None
        return result

    def wait_birth(self, version: str, timeout: float = 60.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            births = [b for b in self.births() if b["agent_version"] == version]
            return births[-1] if births else None

        birth = wait_until(found, timeout=timeout, interval=0.2, message=f"birth of {version}")
        assert birth is not None
        return birth


def pub_of(key_file: Path) -> tuple[str, str]:
    doc = json.loads(key_file.read_text())
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = (
        Ed25519PrivateKey.from_private_bytes(base64.b64decode(doc["private_key"]))
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    return fw.key_id_of(raw), base64.b64encode(raw).decode()
