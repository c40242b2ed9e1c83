"""Console page to register stations by CSV import (operators; the one-time tokens are shown once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response, UploadFile
from sqlalchemy.orm import Session

from ..api.deps import AppSettings, DbSession
from ..errors import ControllerError, InvalidInput
from ..registry.csv_import import import_csv
from ..web import ConsoleOperator, ConsoleUser, CsrfToken, page_labels, render, show_errors_with

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_CSV_BYTES = 5 * 1024 * 1024

LABELS: dict[str, tuple[str, str]] = {
    "register": ("登记站点", "Register stations"),
    "csv_help": (
        "CSV 列：station_code, station_name, region_path, role, serial, mac, tags（多个标签用 ; 分隔）",
        "CSV columns: station_code, station_name, region_path, role, serial, mac, tags (separated by ;)",
    ),
    "upload": ("导入", "Import"),
    "imported": ("已导入", "Imported"),
    "stations_created": ("新建站点", "Stations created"),
    "tokens_once": (
        "一次性注册令牌只显示这一次，请立即交给安装人员",
        "One-time enrollment tokens are shown only now; hand them to the installers",
    ),
    "line": ("行", "Line"),
    "problems": ("文件有问题，未导入任何内容", "Problems in the file; nothing was imported"),
    "station": ("站点编码", "Station code"),
    "device": ("设备", "Device"),
    "devices": ("设备", "Devices"),
    "reason": ("原因", "Reason"),
}


def labels(request: Request) -> Callable[[str], str]:
    return page_labels(request, LABELS)


@router.get("/register")
def register_page(request: Request, user: ConsoleUser, settings: AppSettings) -> Response:
    return render(request, "register.html", {"jt": labels(request)}, settings=settings, user=user)


@router.post("/register")
async def register_csv(
    request: Request,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
    file: UploadFile,
) -> Response:
    def problems(exc: ControllerError, _session: Session) -> Response:
        """A file with problems lists them by line on the same page (nothing was imported)."""
        if not isinstance(exc, InvalidInput):
            raise exc
        found = exc.extra.get("errors") or [{"line": "-", "error": exc.detail}]
        context = {"jt": labels(request), "problems": found}
        return render(request, "register.html", context, settings=settings, user=user, status_code=exc.status)

    show_errors_with(request, problems)
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_CSV_BYTES // 1024 // 1024} MB; split it")
    context: dict[str, Any] = {
        "jt": labels(request),
        "result": import_csv(session, settings=settings, data=data),
    }
    return render(request, "register.html", context, settings=settings, user=user)
