"""WiFiDog auth-server endpoints: ping, login, auth (+ counters_v2), portal, gw_message, roam.

Each is served at ``/wifidog/{name}``, ``/wifidog/{name}/``, ``/wifidog/{name}/index.php`` and
``/wifidog/{name}.php``. Only registered gateways calling from an allowed source are answered (403 else).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ...api.deps import client_ip
from ...errors import ControllerError
from ...registry.service import normalise_mac
from .. import login
from ..errors import ForeignGatewayAddress, GatewayNotRegistered
from ..pages.render import lang_of, message, render
from ..pages.routes import login_page
from . import auth, checks, gateways
from .deps import WifidogWiring, Wiring

log = logging.getLogger(__name__)
router = APIRouter(prefix="/wifidog", include_in_schema=False)
MAX_V2_BODY = 2_000_000
GW_MESSAGES = {"denied": "denied", "activate": "activate", "failed_validation": "failed_validation"}


def _gw_id(request: Request) -> str:
    """``gw_id``, or apfree v2's ``device_id``."""
    params = request.query_params
    return (params.get("gw_id") or params.get("device_id") or "")[:64]


def _forbidden(exc: ControllerError) -> Response:
    return PlainTextResponse(f"Forbidden: {exc.detail}\n", status_code=403)


def ping(request: Request, session: Session, _wiring: WifidogWiring, _body: bytes) -> Response:
    gateway = gateways.check_gateway(session, gw_id=_gw_id(request), source_ip=client_ip(request))
    gateways.record_ping(session, gateway=gateway, params=dict(request.query_params))
    return PlainTextResponse("Pong")


def login_(request: Request, session: Session, wiring: WifidogWiring, _body: bytes) -> Response:
    params = request.query_params
    gw_id = _gw_id(request)
    gateway = gateways.check_gateway(session, gw_id=gw_id, source_ip=client_ip(request))
    try:
        address, port = gateways.login_target(
            gateway, address=params.get("gw_address", "")[:45], port=params.get("gw_port", "")[:8]
        )
    except ForeignGatewayAddress as exc:
        return message(request, exc.page, lang=lang_of(request), status_code=exc.status, detail=exc.detail)
    settings = wiring.settings
    token = login.new_pending(
        session,
        settings=settings,
        kind="wifidog",
        gateway=gw_id,
        mac=normalise_mac(params.get("mac", "")) or "",
        ip=params.get("ip", "")[:45],
        url=params.get("url", "")[:2048],
        gw_address=address,
        gw_port=port,
    )
    return login_page(request, session, settings, token, lang_of(request))


def auth_(request: Request, session: Session, wiring: WifidogWiring, _body: bytes) -> Response:
    """stage=login / logout (and unknown stages): rare, answered through the database."""
    gw_id = _gw_id(request)
    gateways.check_gateway(session, gw_id=gw_id, source_ip=client_ip(request))
    runtime = wiring.runtime
    code = auth.decide(
        session,
        gw_id=gw_id,
        params=dict(request.query_params),
        now=datetime.fromtimestamp(runtime.clock(), UTC),
        probe_bytes=runtime.probe_bytes,
    )
    return PlainTextResponse(f"Auth: {code}\n")


async def _counters(request: Request, wiring: WifidogWiring) -> Response:
    """stage=counters: admitted and decided from memory (see checks.py)."""
    runtime, factory = wiring.runtime, wiring.session_factory
    gw_id, params = _gw_id(request), request.query_params
    await checks.admit(runtime, factory, gw_id, client_ip(request))
    [code] = await checks.decide_counters(runtime, factory, [checks.parse(gw_id, params)])
    return PlainTextResponse(f"Auth: {code}\n")


async def _counters_v2(request: Request, wiring: WifidogWiring) -> Response:
    raw = await request.body()
    try:
        body = json.loads(raw) if len(raw) <= MAX_V2_BODY else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"error": "expected a counters_v2 JSON object"}, status_code=400)
    runtime, factory = wiring.runtime, wiring.session_factory
    answer = await checks.counters_v2(runtime, factory, body=body, source_ip=client_ip(request))
    return JSONResponse(answer)


async def auth_endpoint(request: Request, wiring: Wiring) -> Response:
    """``auth``: counters on the event loop, everything else in the thread pool."""
    stage = request.query_params.get("stage")
    try:
        if stage == "counters":
            return await _counters(request, wiring)
        if stage == "counters_v2":
            return await _counters_v2(request, wiring)
    except GatewayNotRegistered as exc:
        return _forbidden(exc)
    body = await request.body() if request.method == "POST" else b""
    return await run_in_threadpool(_call, auth_, request, wiring, body)


def portal(request: Request, session: Session, _wiring: WifidogWiring, _body: bytes) -> Response:
    gateways.check_gateway(session, gw_id=_gw_id(request), source_ip=client_ip(request))
    context: dict[str, Any] = {"expires_at": None, "link": None, "gateway_url": None}
    return render(request, "connected.html", context, lang=lang_of(request))


def gw_message(request: Request, session: Session, _wiring: WifidogWiring, _body: bytes) -> Response:
    page = GW_MESSAGES.get(request.query_params.get("message", ""), "error")
    return message(request, page, lang=lang_of(request), status_code=200)


def roam(request: Request, session: Session, wiring: WifidogWiring, _body: bytes) -> Response:
    gw_id = _gw_id(request)
    gateways.check_gateway(session, gw_id=gw_id, source_ip=client_ip(request))
    params = request.query_params
    answer = auth.roam(
        session,
        settings=wiring.settings,
        gw_id=gw_id,
        mac_raw=params.get("mac", ""),
        ip=params.get("ip", "")[:45],
    )
    return JSONResponse(answer)


Handler = Callable[[Request, Session, WifidogWiring, bytes], Response]


def _call(handler: Handler, request: Request, wiring: WifidogWiring, body: bytes) -> Response:
    with wiring.session_factory() as session:
        try:
            return handler(request, session, wiring, body)
        except GatewayNotRegistered as exc:
            return _forbidden(exc)


def _endpoint(handler: Handler) -> Callable[[Request, WifidogWiring], Awaitable[Response]]:
    async def endpoint(request: Request, wiring: Wiring) -> Response:
        body = await request.body() if request.method == "POST" else b""
        return await run_in_threadpool(_call, handler, request, wiring, body)

    return endpoint


ENDPOINTS: dict[str, tuple[Handler, list[str]]] = {  # auth first: matched first (the hot path)
    "auth": (auth_, ["GET", "POST"]),
    "ping": (ping, ["GET"]),
    "login": (login_, ["GET"]),
    "portal": (portal, ["GET"]),
    "gw_message": (gw_message, ["GET"]),
    "roam": (roam, ["GET"]),
}
for _name, (_handler, _methods) in ENDPOINTS.items():
    _route = auth_endpoint if _name == "auth" else _endpoint(_handler)
    for _path in (f"/{_name}", f"/{_name}/", f"/{_name}/index.php", f"/{_name}.php"):
        router.add_api_route(_path, _route, methods=_methods)
