"""A stored file as an HTTP response with single-range support (resume), paced by the origin limiter.

Content's public tree (chunks, index objects, packs, manifests) and firmware's release files both serve
through :func:`ranged_file`, so every static object behaves the same for agents, caches and CDNs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from ..errors import NotFound
from .store import ByteRange, origin_limiter, parse_range

IMMUTABLE = "public, max-age=31536000, immutable"


def ranged_file(
    path: Path | None, request: Request, etag: str, *, cache_control: str, missing: str
) -> Response:
    """200 or 206 with the file (or the asked range), 416 for a range past its end, NotFound(missing)."""
    if path is None or not path.is_file():
        raise NotFound(missing)
    length = path.stat().st_size
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{etag}"', "Cache-Control": cache_control}
    try:
        rng = parse_range(request.headers.get("range"), length)
    except ValueError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{length}"})
    status_code = 206 if rng is not None else 200
    if rng is not None:
        headers["Content-Range"] = f"bytes {rng.start}-{rng.end}/{length}"
    else:
        rng = ByteRange(0, length - 1)
    headers["Content-Length"] = str(rng.end - rng.start + 1)
    if request.method == "HEAD" or length == 0:
        return Response(status_code=status_code, headers=headers)
    return StreamingResponse(
        origin_limiter().stream(path, rng),
        status_code=status_code,
        headers=headers,
        media_type="application/octet-stream",
    )
