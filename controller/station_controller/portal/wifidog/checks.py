"""The hot path: ``auth?stage=counters`` and ``counters_v2`` answered from memory on the event loop.

Only what memory cannot decide takes the thread pool: a token not in memory yet (one batched load), and
the rare answers that change a row now (ending a session over its time or quota, binding an unknown IP),
which go through :func:`auth.decide` exactly as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from ...registry.service import normalise_mac
from ..tokens import hash_token
from . import auth, gateways
from .live import Verdict
from .runtime import WifidogRuntime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One client's counters report."""

    gw_id: str
    params: Mapping[str, Any]
    token_hash: str
    mac: str
    ip: str
    down: int
    up: int


def parse(gw_id: str, params: Mapping[str, Any]) -> Check:
    """Field names as in :func:`auth.decide` (classic or apfree); a bad MAC raises InvalidInput."""
    token = str(params.get("token", "") or "")
    return Check(
        gw_id=gw_id,
        params=params,
        token_hash=hash_token(token) if token else "",
        mac=normalise_mac(str(params.get("mac", ""))) or "",
        ip=str(params.get("ip", ""))[:45],
        down=auth.counter(params, "incoming", "incoming_bytes"),  # incoming = download to the client
        up=auth.counter(params, "outgoing", "outgoing_bytes"),
    )


def _verdict(runtime: WifidogRuntime, check: Check, now: float) -> Verdict:
    if not check.token_hash:
        return Verdict.DENY
    return runtime.sessions.counters(
        token_hash=check.token_hash,
        gw_id=check.gw_id,
        mac=check.mac,
        ip=check.ip,
        down=check.down,
        up=check.up,
        now=now,
    )


def _decide_in_db(
    runtime: WifidogRuntime, factory: sessionmaker[Session], checks: list[Check], now: float
) -> list[int]:
    """The database path of :func:`auth.decide`; then the counters it read from memory are written too."""
    when = datetime.fromtimestamp(now, UTC)
    with factory() as session:
        codes = [
            auth.decide(
                session,
                gw_id=c.gw_id,
                params={**c.params, "stage": "counters"},
                now=when,
                probe_bytes=runtime.probe_bytes,
            )
            for c in checks
        ]
    runtime.flush_once()
    return codes


async def decide_counters(
    runtime: WifidogRuntime, factory: sessionmaker[Session], checks: Sequence[Check]
) -> list[int]:
    """``Auth`` codes for counters reports of already admitted gateways, in order."""
    now = runtime.clock()
    verdicts = [_verdict(runtime, c, now) for c in checks]
    missing = [c.token_hash for c, v in zip(checks, verdicts, strict=True) if v is Verdict.MISS]
    if missing:
        await run_in_threadpool(runtime.load, missing)
        verdicts = [
            _verdict(runtime, c, now) if v is Verdict.MISS else v
            for c, v in zip(checks, verdicts, strict=True)
        ]
    slow = [i for i, v in enumerate(verdicts) if v is Verdict.SLOW]
    codes = [auth.AUTH_ALLOWED if v is Verdict.ALLOW else auth.AUTH_DENIED for v in verdicts]
    if slow:
        answers = await run_in_threadpool(_decide_in_db, runtime, factory, [checks[i] for i in slow], now)
        for i, code in zip(slow, answers, strict=True):
            codes[i] = code
    for check, verdict in zip(checks, verdicts, strict=True):
        if verdict in (Verdict.DENY, Verdict.MISS):
            log.info("%s wifidog counters refused for mac %s", check.gw_id, check.mac)
    return codes


def _check_in_db(factory: sessionmaker[Session], gw_id: str, source_ip: str) -> list[str]:
    with factory() as session:
        gateway = gateways.check_gateway(session, gw_id=gw_id, source_ip=source_ip)
        return list(gateway.allowed_sources or [])


async def admit(runtime: WifidogRuntime, factory: sessionmaker[Session], gw_id: str, source_ip: str) -> None:
    """Raise GatewayNotRegistered unless ``gw_id`` may call from ``source_ip`` (memory, then the database)."""
    if runtime.gateways.allowed(gw_id, source_ip):
        return
    sources = await run_in_threadpool(_check_in_db, factory, gw_id, source_ip)
    runtime.gateways.put(gw_id, sources)  # registered since the last reload


def v2_checks(body: Mapping[str, Any]) -> tuple[list[str], list[tuple[int, Check, Any]]]:
    """apfree counters_v2 body → (gateway ids, [(gateway index, check, client id)])."""
    ids: list[str] = []
    checks: list[tuple[int, Check, Any]] = []
    for gw in body.get("gateway") or []:
        if not isinstance(gw, dict):
            continue
        gw_id = str(gw.get("gw_id", ""))[:64]
        ids.append(gw_id)
        for client in gw.get("clients") or []:
            if isinstance(client, dict):
                checks.append((len(ids) - 1, parse(gw_id, client), client.get("id")))
    return ids, checks


async def counters_v2(
    runtime: WifidogRuntime, factory: sessionmaker[Session], *, body: Mapping[str, Any], source_ip: str
) -> dict[str, Any]:
    """The counters_v2 answer; every listed gateway (or ``device_id``) must be admitted first."""
    ids, checks = v2_checks(body)
    for gw_id in set(ids) or {str(body.get("device_id", ""))[:64]}:
        await admit(runtime, factory, gw_id, source_ip)
    codes = await decide_counters(runtime, factory, [c for _, c, _ in checks])
    result: list[dict[str, Any]] = [{"gw_id": gw_id, "auth_op": []} for gw_id in ids]
    for (index, _, client_id), code in zip(checks, codes, strict=True):
        result[index]["auth_op"].append({"id": client_id, "auth_code": code})
    return {"result": result}
