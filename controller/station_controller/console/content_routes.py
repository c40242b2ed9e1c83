"""Console pages for content bundles: every bundle with its versions, sizes and new bytes per version
(what a station holding the previous version downloads). Publishing is `stationctl content publish`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..api.deps import AppSettings, DbSession
from ..content import service
from ..errors import ControllerError
from .campaign_routes import fmt_bytes
from .render import console_user, error_page, lang_of, render, to_login

router = APIRouter(prefix="/console/content", include_in_schema=False)


def _labels(request: Request) -> dict[str, str]:
    zh = lang_of(request) == "zh"
    pairs = {
        "bundles": ("课件内容包", "Content bundles"),
        "name": ("名称", "Name"),
        "versions": ("版本", "Versions"),
        "version": ("版本", "Version"),
        "size": ("总大小", "Size"),
        "new": ("相对上一版新增", "New vs previous"),
        "files": ("文件数", "Files"),
        "created": ("发布时间", "Published"),
        "key": ("签名密钥", "Signing key"),
        "retired": ("已退役", "retired"),
        "hint": (
            "发布：stationctl content publish 目录 --name 名称 --version 版本",
            "Publish with: stationctl content publish DIR --name NAME --version VERSION",
        ),
        "none": ("暂无", "None yet"),
    }
    return {k: v[0] if zh else v[1] for k, v in pairs.items()}


@router.get("/")
def bundles_page(request: Request, session: DbSession, settings: AppSettings) -> Response:
    user = console_user(request, session)
    if user is None:
        return to_login(request)
    bundles = [
        (b, service.list_versions(session, settings=settings, bundle=b["name"]))
        for b in service.list_bundles(session)
    ]
    context = {"L": _labels(request), "bundles": bundles, "fmt_bytes": fmt_bytes}
    return render(request, "content.html", context, settings=settings, user=user)


@router.get("/{bundle}")
def bundle_page(request: Request, bundle: str, session: DbSession, settings: AppSettings) -> Response:
    user = console_user(request, session)
    if user is None:
        return to_login(request)
    try:
        versions = service.list_versions(session, settings=settings, bundle=bundle)
    except ControllerError as exc:
        return error_page(request, exc, settings=settings, user=user)
    context = {
        "L": _labels(request),
        "bundles": [({"name": bundle}, versions)],
        "fmt_bytes": fmt_bytes,
    }
    return render(request, "content.html", context, settings=settings, user=user)
