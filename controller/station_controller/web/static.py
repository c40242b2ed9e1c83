"""The console's bundled static files (CSS, scripts), served from memory with content-versioned URLs."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Response

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/console/static"


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    version: str


def _load_static(directory: Path) -> dict[str, StaticFile]:
    files = {}
    for path in sorted(directory.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            files[path.name] = StaticFile(body, media, hashlib.sha256(body).hexdigest()[:12])
    return files


STATIC_FILES = _load_static(STATIC_DIR)


def static_url(name: str) -> str:
    """URL of a bundled static file, versioned by content so browsers may cache it for long."""
    return f"{STATIC_PREFIX}/{name}?v={STATIC_FILES[name].version}"


router = APIRouter(include_in_schema=False)


@router.get(STATIC_PREFIX + "/{name}")
def static_file(name: str) -> Response:
    item = STATIC_FILES.get(name)
    if item is None:
        return Response("not found", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(item.body, media_type=item.media_type, headers=headers)
