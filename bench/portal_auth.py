"""Portal auth checks per second and login throughput, against a bare FastAPI endpoint in the same run.

Auth checks are driven by wrk (Debian `wrk`; `apt-get install wrk`) with the same threads, connections
and duration for every target:

- bare:     a FastAPI app with one ``GET /auth`` returning ``Auth: 1``, served by uvicorn exactly like
            `station-controller serve` (uvicorn.run, factory, default settings, one process);
- wifidog:  the controller's ``GET /wifidog/auth/?stage=counters`` over N live wifidog sessions (a Lua
            script rotates tokens; classic field names; answered from memory, counters flushed in batches);
- native:   the router agent's splash responder (station_agent.gateway.splash.SplashServer) answering
            the RFC 8908 API ``GET /captive-portal/api`` for an authenticated client: neighbour lookup,
            session lookup in state.db, JSON — the per-client check of our own gateway.

wrk runs the three targets in turn, ``--rounds`` times (medians reported), so load from elsewhere hits
each alike. Logins go through the real pages with httpx (a thread pool): wifidog ``/wifidog/login`` →
voucher form POST → ``auth?stage=login`` (3 requests), and native signed ``/portal/?gw…&sig`` → voucher
form POST (2 requests, ending in ``portal.allow`` published to the router over MQTT). Latency is per
whole login; the same client and threads also time single requests to the bare endpoint for comparison.

    .venv/bin/python bench/portal_auth.py [--duration 10] [--connections 8] [--logins 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _common import write_result

from station_agent.gateway.sessions import Session, SessionStore
from station_agent.gateway.splash import SplashServer, SplashState
from station_agent.state import StateStore
from station_controller.broker import BrokerAccount, hash_password
from station_controller.devstack import MosquittoService, free_port
from station_controller.devstack.processes import ManagedProcess, http_ok, run_tool

CLI = Path(sys.executable).with_name("station-controller")
HERE = Path(__file__).resolve().parent
WIFIDOG_GW = "bench-wifidog-1"
STATION = "bench-0001"
ROUTER_SERIAL = "BENCH-ROUTER-1"
CLIENT_MAC = "02:00:00:00:00:01"


def _env(data: Path, port: int, mqtt_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION_")}
    env.update(
        {
            "STATION_DATA_DIR": str(data),
            "STATION_SECRET_KEY": secrets.token_urlsafe(32),
            "STATION_MQTT_PASSWORD": secrets.token_urlsafe(32),
            "STATION_HTTP_PORT": str(port),
            "STATION_MQTT_PORT": str(mqtt_port),
            "STATION_TSDB_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: no telemetry here
            "STATION_PORTAL_VOUCHER_FAILURES_PER_MINUTE": "100000",
        }
    )
    return env


@contextmanager
def controller(data: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Mosquitto + `station-controller serve` on free loopback ports; yields (url, env)."""
    mqtt_port, port = free_port(), free_port()
    env = _env(data, port, mqtt_port)
    broker = MosquittoService(data_dir=data / "broker", port=mqtt_port)
    broker.accounts.ensure_exist()
    broker.accounts.upsert(BrokerAccount("controller", hash_password(env["STATION_MQTT_PASSWORD"])))
    broker.start()
    serve = ManagedProcess(
        name="controller", argv=[str(CLI), "serve"], log_file=data / "controller.log", env=env
    )
    try:
        run_tool([str(CLI), "migrate"], env=env, timeout_s=300)
        url = f"http://127.0.0.1:{port}"
        serve.start(ready=lambda: http_ok(f"{url}/readyz"), timeout_s=60)
        yield url, env
    finally:
        serve.stop()
        broker.stop()


@contextmanager
def bare_app(data: Path) -> Iterator[str]:
    """The yardstick: a one-route FastAPI app served like the controller (uvicorn.run, factory)."""
    port = free_port()
    code = (
        "import uvicorn\n"
        "from fastapi import FastAPI\n"
        "from fastapi.responses import PlainTextResponse\n"
        "def build():\n"
        "    app = FastAPI()\n"
        "    @app.get('/auth')\n"
        "    def auth() -> PlainTextResponse:\n"
        "        return PlainTextResponse('Auth: 1\\n')\n"
        "    return app\n"
        f"uvicorn.run('bare_app:build', factory=True, host='127.0.0.1', port={port})\n"
    )
    (data / "bare_app.py").write_text(code, encoding="utf-8")
    proc = ManagedProcess(
        name="bare", argv=[sys.executable, str(data / "bare_app.py")], log_file=data / "bare.log", cwd=data
    )
    url = f"http://127.0.0.1:{port}"
    try:
        proc.start(ready=lambda: http_ok(f"{url}/auth"), timeout_s=30)
        yield url
    finally:
        proc.stop()


def admin_client(url: str, env: dict[str, str]) -> httpx.Client:
    password = secrets.token_urlsafe(18)
    run_tool(
        [str(CLI), "create-admin", "--username", "bench", "--password-stdin"],
        env=env,
        input_text=password + "\n",
    )
    token = httpx.post(f"{url}/api/v1/auth/login", json={"username": "bench", "password": password}).json()[
        "token"
    ]
    return httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=60)


def seed(api: httpx.Client, *, logins: int) -> dict[str, Any]:
    """Station, an enrolled router with the portal on, a wifidog gateway and vouchers for every login."""
    api.post(
        "/api/v1/stations", json={"code": STATION, "name": "bench", "region_path": "省/市/县/乡/村"}
    ).raise_for_status()
    created = api.post(
        "/api/v1/devices", json={"station_code": STATION, "role": "router", "serial": ROUTER_SERIAL}
    )
    created.raise_for_status()
    router = created.json()["device"]["id"]
    token = created.json()["token"]
    api.post("/api/v1/enroll", json={"serial": ROUTER_SERIAL, "token": token}).raise_for_status()
    api.put(f"/api/v1/portal/hotspots/{router}", json={"lan_interface": "br-lan"}).raise_for_status()
    key = api.get(f"/api/v1/portal/hotspots/{router}/gateway-key").json()["gateway_key"]  # admin reveal
    api.put(
        f"/api/v1/portal/wifidog-gateways/{WIFIDOG_GW}",
        json={
            "allowed_sources": ["127.0.0.1/32"],
            "lan_networks": ["10.0.0.1/32"],  # the gw_address of the logins below
            "station_code": STATION,
            "name": "bench",
        },
    ).raise_for_status()
    codes: list[str] = []
    while len(codes) < 2 * logins:
        batch = api.post("/api/v1/portal/voucher-batches", json={"count": min(1000, 2 * logins - len(codes))})
        batch.raise_for_status()
        codes += [v["code"] for v in batch.json()["vouchers"]]
    return {"router": router, "key": key, "codes": codes}


class _Form(HTMLParser):
    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside = action, False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action", "") == self.action
        elif tag == "input" and self.inside and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def hidden_fields(html: str, action: str) -> dict[str, str]:
    parser = _Form(action)
    parser.feed(html)
    return parser.fields


def wifidog_login(client: httpx.Client, url: str, code: str, n: int) -> str:
    """One wifidog login as gateway + phone would do it; returns the session token."""
    mac, ip = (
        f"02:00:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}",
        f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
    )
    query = {
        "gw_id": WIFIDOG_GW,
        "gw_address": "10.0.0.1",
        "gw_port": "2060",
        "mac": mac,
        "ip": ip,
        "url": "http://a.cn/",
    }
    page = client.get(f"{url}/wifidog/login/", params=query)
    fields = hidden_fields(page.text, "/portal/voucher")
    done = client.post(f"{url}/portal/voucher", data={**fields, "code": code, "accept_terms": "1"})
    match = re.search(r"token=([A-Za-z0-9_-]+)", done.text)
    if not match:
        raise RuntimeError(f"wifidog login {n} failed: {done.status_code} {done.text[:300]}")
    token = match.group(1)
    auth = client.get(
        f"{url}/wifidog/auth/",
        params={"stage": "login", "token": token, "mac": mac, "ip": ip, "gw_id": WIFIDOG_GW},
    )
    if "Auth: 1" not in auth.text:
        raise RuntimeError(f"wifidog auth login {n}: {auth.text}")
    return f"{token}|{mac}|{ip}"


def native_login(client: httpx.Client, url: str, code: str, n: int, *, router: str, key: str) -> str:
    mac, ip = (
        f"02:01:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}",
        f"10.1.{n >> 8 & 255}.{n & 255}",
    )
    ts, target = str(int(time.time() * 1000)), "http://a.cn/"
    sig = hmac.new(
        bytes.fromhex(key), f"{router}|{mac}|{ip}|{ts}|{target}".encode(), hashlib.sha256
    ).hexdigest()
    page = client.get(
        f"{url}/portal/?"
        + urlencode({"gw": router, "mac": mac, "ip": ip, "url": target, "ts": ts, "sig": sig})
    )
    fields = hidden_fields(page.text, "/portal/voucher")
    done = client.post(f"{url}/portal/voucher", data={**fields, "code": code, "accept_terms": "1"})
    if 'data-testid="connected"' not in done.text:
        raise RuntimeError(f"native login {n} failed: {done.status_code} {done.text[:300]}")
    return mac


def timed_logins(
    fn: Callable[[httpx.Client, int], str], count: int, workers: int
) -> tuple[list[str], dict[str, float]]:
    """Run ``count`` logins on ``workers`` threads (one keep-alive client each); rate and latency."""
    local = threading.local()
    latencies: list[float] = []

    def one(n: int) -> str:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
        start = time.perf_counter()
        out = fn(local.client, n)
        latencies.append(time.perf_counter() - start)
        return out

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    return results, {
        "logins": count,
        "per_s": count / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
    }


def wrk(url: str, *, duration: int, connections: int, script: Path | None = None) -> dict[str, float]:
    """Requests/s and latency percentiles from one wrk run (1 thread: the server gets the other core)."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    out = subprocess.run(
        [*argv, url], capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    return {
        "per_s": rate,
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "p50": _ms(pct.get("50", "0ms")),
        "p99": _ms(pct.get("99", "0ms")),
    }


def _ms(text: str) -> float:
    value, unit = float(re.match(r"[\d.]+", text).group(0)), re.sub(r"[\d.]+", "", text)  # type: ignore[union-attr]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}.get(unit, 1.0)


def counters_script(data: Path, sessions: list[str]) -> Path:
    """A wrk Lua script that walks through the live sessions (classic field names, rising counters)."""
    rows = ",\n".join(f'{{"{t}","{m}","{i}"}}' for t, m, i in (s.split("|") for s in sessions))
    lua = (
        f"local s = {{\n{rows}\n}}\nlocal n = 0\n"
        "request = function()\n  n = n + 1\n  local r = s[(n % #s) + 1]\n"
        f'  return wrk.format("GET", "/wifidog/auth/?stage=counters&gw_id={WIFIDOG_GW}&token=" .. r[1] .. '
        '"&mac=" .. r[2] .. "&ip=" .. r[3] .. "&incoming=" .. n .. "&outgoing=" .. n)\nend\n'
    )
    path = data / "counters.lua"
    path.write_text(lua, encoding="utf-8")
    return path


class _OneClient:
    """The splash responder's backend for the bench: one authenticated client, looked up in state.db."""

    def __init__(self, store: SessionStore, key: str) -> None:
        self.store, self.key = store, key

    def splash_state(self, ip: str, mac: str) -> SplashState | None:
        session = self.store.by_ip(ip)
        if session is not None and session.mac != mac:
            session = None
        return SplashState(gw="bench-router", portal_url="http://127.0.0.1/portal/", gateway_key=self.key,
                           now_ms=int(time.time() * 1000), session=session)  # fmt: skip


class _Arp:
    def mac_of(self, ip: str) -> str | None:
        return CLIENT_MAC if ip == "127.0.0.1" else None


@contextmanager
def native_splash(data: Path) -> Iterator[str]:
    """The real splash responder on loopback with one live session in a real state.db."""
    store = StateStore.open(data / "state.db")
    sessions = SessionStore(store)
    now = int(time.time() * 1000)
    sessions.put(Session(session_id="bench", mac=CLIENT_MAC, ip="127.0.0.1", expires_at=now + 3_600_000,
                         idle_timeout_s=900, up_kbps=2000, down_kbps=2000, quota_bytes=10**9, class_id=10,
                         started_ms=now, last_activity_ms=now))  # fmt: skip
    port = free_port()
    server = SplashServer(
        "127.0.0.1", port, backend=_OneClient(sessions, secrets.token_hex(32)), neighbours=_Arp()
    )
    server.start()
    try:
        yield f"http://127.0.0.1:{port}/captive-portal/api"
    finally:
        server.stop()
        time.sleep(1.0)  # handler threads still answering wrk's last requests finish before the close
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--logins", type=int, default=300, help="logins per kind (also the wifidog sessions)")
    parser.add_argument("--workers", type=int, default=8, help="login threads")
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds over all targets (medians)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp:
        data = Path(tmp)
        results = run(data, args)
    write_result("portal_auth", results)
    _print(results)


def run(data: Path, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "duration_s": args.duration,
        "connections": args.connections,
        "rounds": args.rounds,
    }
    with controller(data / "ctl") as (url, env), bare_app(data) as bare, native_splash(data) as splash:
        api = admin_client(url, env)
        seeded = seed(api, logins=args.logins)
        codes = seeded["codes"]
        sessions, results["login_wifidog"] = timed_logins(
            lambda c, n: wifidog_login(c, url, codes[n], n), args.logins, args.workers
        )
        router, key = seeded["router"], seeded["key"]
        _, results["login_native"] = timed_logins(
            lambda c, n: native_login(c, url, codes[args.logins + n], n, router=router, key=key),
            args.logins,
            args.workers,
        )
        _, results["bare_httpx"] = timed_logins(
            lambda c, n: c.get(f"{bare}/auth").text, args.logins, args.workers
        )  # the login client against the bare endpoint: one request per "login"
        script = counters_script(data, sessions)
        targets = {"bare": (f"{bare}/auth", None), "wifidog_counters": (url, script),
                   "native_rfc8908": (splash, None)}  # fmt: skip
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for _ in range(args.rounds):  # interleaved, so load from elsewhere hits every target alike
            for name, (target, lua) in targets.items():
                runs[name].append(
                    wrk(target, duration=args.duration, connections=args.connections, script=lua)
                )
        results["wrk_runs"] = runs
        for name, items in runs.items():
            results[name] = {key: statistics.median(r[key] for r in items) for key in items[0]}
        results["ratio_wifidog"] = results["wifidog_counters"]["per_s"] / results["bare"]["per_s"]
        results["ratio_native"] = results["native_rfc8908"]["per_s"] / results["bare"]["per_s"]
        api.close()
    return results


def _print(r: dict[str, Any]) -> None:
    for name in ("bare", "wifidog_counters", "native_rfc8908"):
        w = r[name]
        print(f"{name:18s} {w['per_s']:9.0f} req/s  p50 {w['p50']:7.2f} ms  p99 {w['p99']:7.2f} ms", end="")
        print(f"  non-2xx {w['non_2xx']:.0f}")
    print(f"ratio wifidog counters / bare: {r['ratio_wifidog']:.2f}", end="")
    print(f"   native / bare: {r['ratio_native']:.2f}  (target >= 0.7)")
    for name in ("bare_httpx", "login_wifidog", "login_native"):
        s = r[name]
        print(f"{name:18s} {s['per_s']:7.1f} /s        p50 {s['p50_ms']:7.1f} ms", end="")
        print(f"  p99 {s['p99_ms']:7.1f} ms  ({s['logins']} logins or requests)")


if __name__ == "__main__":
    main()
