"""Console pages for content bundles: every bundle with its versions, sizes and new bytes per version
(what a station holding the previous version downloads). Publishing is `stationctl content publish`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..api.deps import AppSettings, DbSession
from ..web import ConsoleUser, fmt_bytes, lang_of, render
from . import service

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
def bundles_page(request: Request, user: ConsoleUser, session: DbSession, settings: AppSettings) -> Response:
    bundles = [
        (b, service.list_versions(session, settings=settings, bundle=b["name"]))
        for b in service.list_bundles(session)
    ]
    context = {"L": _labels(request), "bundles": bundles, "fmt_bytes": fmt_bytes}
    return render(request, "content.html", context, settings=settings, user=user)


@router.get("/{bundle}")
def bundle_page(
    request: Request, bundle: str, user: ConsoleUser, session: DbSession, settings: AppSettings
) -> Response:
    versions = service.list_versions(session, settings=settings, bundle=bundle)
    context = {
        "L": _labels(request),
        "bundles": [({"name": bundle}, versions)],
        "fmt_bytes": fmt_bytes,
    }
    return render(request, "content.html", context, settings=settings, user=user)
