"""Portal staff API under ``/api/v1/portal``: hotspots, policies, sessions, vouchers, gateways, records."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from ..api.deps import AppSettings, DbSession
from ..auth.deps import Admin, CurrentUser, Operator, Viewer
from ..auth.models import StaffUser
from ..auth.service import role_allows
from ..commands.deps import Publisher
from ..errors import InvalidInput, PermissionDenied
from ..kernel.clock import as_utc, utcnow
from ..registry.models import Device
from ..registry.service import get_device
from . import hotspots, policies, records, service, vouchers
from .models import Hotspot, Policy, PortalSession, VoucherBatch, WifidogGateway
from .pages.i18n import pick_lang, translator
from .pages.render import SECURITY_HEADERS, templates
from .schemas import (
    BatchDetail,
    BatchIn,
    BatchOut,
    EffectivePolicyOut,
    ExtendIn,
    GatewayIn,
    GatewayKeyOut,
    GatewayOut,
    HotspotIn,
    HotspotOut,
    PolicyIn,
    PolicyOut,
    SessionOut,
    SessionPage,
    StatRow,
    VoucherOut,
)
from .wifidog import gateways

log = logging.getLogger(__name__)
router = APIRouter(prefix="/portal", tags=["portal"])
EXPORT_ROLES = ("auditor", "admin")


def auditor(user: CurrentUser) -> StaffUser:
    """Login records hold personal data: only the ``auditor`` and ``admin`` roles export them."""
    if user.role not in EXPORT_ROLES:
        raise PermissionDenied(
            f"exporting login records needs the auditor or admin role; {user.username} is {user.role}"
        )
    return user


Auditor = Annotated[StaffUser, Depends(auditor)]


def _hotspot_out(session: DbSession, hotspot: Hotspot, device: Device) -> HotspotOut:
    active = session.scalar(
        select(func.count())
        .select_from(PortalSession)
        .where(PortalSession.gateway == device.id, PortalSession.status == "active")
    )
    return HotspotOut(
        device_id=device.id,
        station_code=device.station.code,
        region_path=device.region_path,
        online=device.online,
        enabled=hotspot.enabled,
        lan_interface=hotspot.lan_interface,
        wan_interface=hotspot.wan_interface,
        splash_port=hotspot.splash_port,
        trusted_macs=list(hotspot.trusted_macs or []),
        blocked_macs=list(hotspot.blocked_macs or []),
        active_sessions=int(active or 0),
        updated_at=hotspot.updated_at,
    )


@router.get("/hotspots", response_model=list[HotspotOut])
def list_hotspots(session: DbSession, _user: Viewer) -> list[HotspotOut]:
    return [_hotspot_out(session, h, d) for h, d in hotspots.list_hotspots(session)]


@router.put("/hotspots/{device_id}", response_model=HotspotOut)
def put_hotspot(
    device_id: str,
    body: HotspotIn,
    session: DbSession,
    settings: AppSettings,
    publisher: Publisher,
    _user: Operator,
) -> HotspotOut:
    """Enable / update the portal on a router and push the ``portal`` desired-config key (with its key)."""
    hotspot = hotspots.put_hotspot(
        session, settings=settings, publisher=publisher, device_id=device_id, fields=body.model_dump()
    )
    return _hotspot_out(session, hotspot, get_device(session, device_id=device_id))


@router.post("/hotspots/{device_id}/rotate-key", response_model=HotspotOut)
def rotate_key(
    device_id: str, session: DbSession, settings: AppSettings, publisher: Publisher, _user: Operator
) -> HotspotOut:
    hotspot = hotspots.rotate_key(session, settings=settings, publisher=publisher, device_id=device_id)
    return _hotspot_out(session, hotspot, get_device(session, device_id=device_id))


@router.get("/hotspots/{device_id}/gateway-key", response_model=GatewayKeyOut)
def reveal_gateway_key(device_id: str, session: DbSession, response: Response, user: Admin) -> GatewayKeyOut:
    """The router's splash-signing key, for admins only (device reads show a marker instead)."""
    hotspot = hotspots.get_hotspot(session, device_id=device_id)
    log.warning("%s portal gateway key revealed to %s", device_id, user.username)
    response.headers["cache-control"] = "no-store"
    return GatewayKeyOut(device_id=device_id, gateway_key=hotspot.gateway_key)


@router.get("/policies", response_model=list[PolicyOut])
def list_policies(session: DbSession, _user: Viewer) -> list[Policy]:
    return policies.list_policies(session)


@router.put("/policies", response_model=PolicyOut)
def put_policy(body: PolicyIn, session: DbSession, _user: Operator) -> Policy:
    """Create or replace the policy of ``scope``/``scope_key`` (null fields inherit)."""
    fields = body.model_dump(exclude={"scope", "scope_key"})
    return policies.put_policy(session, scope=body.scope, scope_key=body.scope_key, fields=fields)


@router.delete("/policies/{policy_id}", status_code=204)
def delete_policy(policy_id: int, session: DbSession, _user: Operator) -> Response:
    policies.delete_policy(session, policy_id=policy_id)
    return Response(status_code=204)


@router.get("/policies/effective", response_model=EffectivePolicyOut)
def effective_policy(
    session: DbSession, settings: AppSettings, _user: Viewer, device_id: str = "", gw_id: str = ""
) -> EffectivePolicyOut:
    """The resolved policy of a router (``device_id``) or wifidog gateway (``gw_id``), with sources."""
    if not device_id and not gw_id:
        raise InvalidInput("give device_id (router) or gw_id (wifidog gateway)")
    site = service.site_for(session, kind="native" if device_id else "wifidog", gateway=device_id or gw_id)
    resolved = service.policy_for(session, settings=settings, site=site)
    return EffectivePolicyOut(**resolved.__dict__)


@router.get("/sessions", response_model=SessionPage)
def list_sessions(
    session: DbSession,
    _user: Viewer,
    status: str = "active",
    gateway: str = "",
    mac: str = "",
    phone: str = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SessionPage:
    """Sessions (``status=active|ended|failed``, empty for all), newest first."""
    items, total = service.list_sessions(
        session, status=status, gateway=gateway, mac=mac.lower(), phone=phone, limit=limit, offset=offset
    )
    return SessionPage(items=[SessionOut.model_validate(i) for i in items], total=total)


@router.post("/sessions/{session_id}/kick", response_model=SessionOut)
def kick(
    session_id: str, session: DbSession, settings: AppSettings, publisher: Publisher, user: Operator
) -> PortalSession:
    return service.kick(
        session, settings=settings, publisher=publisher, session_id=session_id, by=user.username
    )


@router.post("/sessions/{session_id}/extend", response_model=SessionOut)
def extend(
    session_id: str,
    body: ExtendIn,
    session: DbSession,
    settings: AppSettings,
    publisher: Publisher,
    user: Operator,
) -> PortalSession:
    return service.extend(
        session,
        settings=settings,
        publisher=publisher,
        session_id=session_id,
        add_s=body.add_s,
        quota_bytes=body.quota_bytes,
        by=user.username,
    )


@router.post("/voucher-batches", response_model=BatchDetail, status_code=201)
def create_batch(body: BatchIn, session: DbSession, user: Operator) -> BatchDetail:
    batch = vouchers.create_batch(
        session, spec=vouchers.BatchSpec(**body.model_dump()), created_by=user.username
    )
    return _batch_detail(session, batch, reveal=True)


@router.get("/voucher-batches", response_model=list[BatchOut])
def list_batches(session: DbSession, _user: Viewer) -> list[VoucherBatch]:
    return vouchers.list_batches(session)


def _batch_detail(session: DbSession, batch: VoucherBatch, *, reveal: bool) -> BatchDetail:
    """Operators (who print them) see the codes; viewers see them masked (a code is a ticket online)."""
    items = vouchers.batch_vouchers(session, batch_id=batch.id)
    used = vouchers.voucher_bytes(session, voucher_ids=[v.id for v in items])
    out = [
        VoucherOut(
            code=v.code if reveal else vouchers.masked(v.code),
            first_used_at=v.first_used_at,
            expires_at=v.expires_at,
            devices=list(v.devices or []),
            revoked=v.revoked_at is not None,
            bytes_used=used.get(v.id, 0),
        )
        for v in items
    ]
    detail = BatchDetail.model_validate(batch)
    detail.vouchers, detail.used = out, sum(1 for v in items if v.first_used_at is not None)
    return detail


@router.get("/voucher-batches/{batch_id}", response_model=BatchDetail)
def get_batch(batch_id: int, session: DbSession, user: Viewer) -> BatchDetail:
    """A batch with each voucher's usage (first use, expiry, devices, bytes); codes masked for viewers."""
    reveal = role_allows(user.role, "operator")
    return _batch_detail(session, vouchers.get_batch(session, batch_id=batch_id), reveal=reveal)


@router.post("/voucher-batches/{batch_id}/revoke", response_model=BatchOut)
def revoke_batch(batch_id: int, session: DbSession, _user: Operator) -> VoucherBatch:
    return vouchers.revoke_batch(session, batch_id=batch_id)


@router.post("/vouchers/{code}/revoke", status_code=204)
def revoke_voucher(code: str, session: DbSession, _user: Operator) -> Response:
    vouchers.revoke_voucher(session, code=code)
    return Response(status_code=204)


@router.get("/voucher-batches/{batch_id}/print", include_in_schema=False)
def print_batch(
    batch_id: int, request: Request, session: DbSession, _user: Operator, unused: bool = True, lang: str = ""
) -> Response:
    """Print-ready HTML (A4, 3 per row), one inline-SVG QR code per voucher; unused ones by default."""
    batch = vouchers.get_batch(session, batch_id=batch_id)
    items = vouchers.batch_vouchers(session, batch_id=batch_id, unused_only=unused)
    language = pick_lang(lang or None, None)
    context = {
        "t": translator(language),
        "lang": language,
        "batch": batch,
        "vouchers": [{"code": v.code, "qr": vouchers.qr_svg(v.code)} for v in items],
    }
    response = templates.TemplateResponse(request, "vouchers_print.html", context)
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/wifidog-gateways", response_model=list[GatewayOut])
def list_gateways(session: DbSession, _user: Viewer) -> list[WifidogGateway]:
    return gateways.list_gateways(session)


@router.put("/wifidog-gateways/{gw_id}", response_model=GatewayOut)
def put_gateway(gw_id: str, body: GatewayIn, session: DbSession, _user: Operator) -> WifidogGateway:
    return gateways.put_gateway(
        session,
        gw_id=gw_id,
        allowed_sources=body.allowed_sources,
        lan_networks=body.lan_networks,
        gw_port=body.gw_port,
        station_code=body.station_code,
        name=body.name,
    )


@router.delete("/wifidog-gateways/{gw_id}", status_code=204)
def delete_gateway(gw_id: str, session: DbSession, _user: Operator) -> Response:
    gateways.delete_gateway(session, gw_id=gw_id)
    return Response(status_code=204)


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    until = as_utc(end) if end else utcnow()
    since = as_utc(start) if start else until - timedelta(days=7)
    if since >= until:
        raise InvalidInput("start must be before end")
    return since, until


@router.get("/stats/logins", response_model=list[StatRow])
def login_stats(
    session: DbSession,
    _user: Viewer,
    start: datetime | None = None,
    end: datetime | None = None,
    station: str = "",
) -> list[dict[str, object]]:
    """Logins per station and day (Beijing time): logins, distinct users and devices, bytes."""
    since, until = _range(start, end)
    return records.login_stats(session, start=since, end=until, station=station or None)


@router.get("/login-records.csv")
def export_records(
    session: DbSession,
    _user: Auditor,
    start: datetime | None = None,
    end: datetime | None = None,
    station: str = "",
) -> StreamingResponse:
    """Login records in [start, end) as CSV (default: last 7 days), for the auditor role."""
    since, until = _range(start, end)
    chunks = list(records.export_csv(session, start=since, end=until, station=station or None))
    name = f"login-records-{since:%Y%m%d}-{until:%Y%m%d}.csv"
    return StreamingResponse(
        iter(chunks),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


@router.post("/records/purge")
def purge(session: DbSession, settings: AppSettings, _user: Admin) -> dict[str, int]:
    """Delete records older than ``portal_retention_days`` (also ``station-controller portal-purge``)."""
    return records.purge(session, settings=settings)
