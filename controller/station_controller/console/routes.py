"""Console pages (station list, station, device) and their polling JSON."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from ..api.deps import AppSettings, DbSession
from ..web import ConsoleUser, Flash, lang_of
from . import service
from .actions import router as actions_router
from .i18n import translator
from .render import render

router = APIRouter(prefix="/console", include_in_schema=False)
router.include_router(actions_router)

root_router = APIRouter(include_in_schema=False)

DONE_MESSAGES = {"command": "command_sent", "revoked": "revoked_done"}


@root_router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


def list_filter(
    region: str = "",
    tag: str = "",
    role: str = "",
    state: str = "",
    version: str = "",
    q: str = "",
    page: int = 1,
    per_page: int = 50,
) -> service.ListFilter:
    return service.ListFilter(
        region=region.strip()[:512],
        tag=tag.strip()[:64],
        role=role if role in ("stb", "router") else "",
        state=state if state in ("online", "offline") else "",
        version=version.strip()[:64],
        q=q.strip()[:128],
        page=page,
        per_page=per_page if per_page in service.PAGE_SIZES else 50,
    )


Filter = Annotated[service.ListFilter, Depends(list_filter)]


@router.get("/")
def station_list(
    request: Request, user: ConsoleUser, session: DbSession, settings: AppSettings, flt: Filter
) -> Response:
    items = flt.query_items()

    def page_url(number: int) -> str:
        return "/console/?" + urlencode([*items, ("page", str(number))])

    context = {
        "flt": flt,
        "page": service.list_devices(session, flt=flt),
        "choices": service.filter_choices(session),
        "page_url": page_url,
        "status_url": "/console/status.json?" + urlencode(items),
    }
    return render(request, "stations.html", context, settings=settings, user=user)


@router.get("/status.json")
def status_json(_user: ConsoleUser, session: DbSession, flt: Filter, ids: str = "") -> Response:
    device_ids = [i for i in ids.split(",") if i][: service.MAX_STATUS_IDS]
    return JSONResponse(
        service.live_status(session, flt=flt, device_ids=device_ids), headers={"Cache-Control": "no-store"}
    )


@router.get("/stations/{station_id}")
def station_page(
    request: Request, station_id: int, user: ConsoleUser, session: DbSession, settings: AppSettings
) -> Response:
    station = service.get_station(session, station_id=station_id)
    devices = [
        {"device": d, "latest": service.latest_values(d)}
        for d in service.station_devices(session, station_id=station_id)
    ]
    return render(
        request, "station.html", {"station": station, "devices": devices}, settings=settings, user=user
    )


@router.get("/stations/{station_id}/live.json")
def station_live(station_id: int, _user: ConsoleUser, session: DbSession) -> Response:
    return JSONResponse(
        service.station_live(session, station_id=station_id), headers={"Cache-Control": "no-store"}
    )


@router.get("/devices/{device_id}")
def device_page(
    request: Request,
    device_id: str,
    user: ConsoleUser,
    session: DbSession,
    settings: AppSettings,
    done: str = "",
) -> Response:
    context = service.device_view(session, device_id=device_id)
    message = DONE_MESSAGES.get(done)
    flash = Flash("ok", translator(lang_of(request))(message)) if message else None
    return render(request, "device.html", context, settings=settings, user=user, flash=flash)
