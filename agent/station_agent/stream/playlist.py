"""HLS playlists through ``m3u8`` (the only m3u8 importer): our own small types above it.

``m3u8`` (and the urllib.request it pulls in) is imported on the first playlist, not at agent start:
an STB that is never asked to probe does not carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple


class PlaylistError(Exception):
    """Not a playlist we can use (m3u8 failed, or a master without variants)."""


@dataclass(frozen=True)
class Variant:
    url: str
    bandwidth: int  # EXT-X-STREAM-INF BANDWIDTH: the peak segment bit rate (RFC 8216 §4.3.4.2)
    average_bandwidth: Optional[int] = None


@dataclass(frozen=True)
class Segment:
    seq: int  # media sequence number
    url: str
    duration_s: float
    pdt_ms: Optional[int]  # EXT-X-PROGRAM-DATE-TIME of its first sample (epoch ms)


@dataclass(frozen=True)
class MediaPlaylist:
    target_duration_s: float
    segments: Tuple[Segment, ...]
    ended: bool  # EXT-X-ENDLIST: VOD, or a live stream that finished

    @property
    def last_seq(self) -> int:
        return self.segments[-1].seq if self.segments else -1


def parse(text: str, url: str) -> Tuple[Tuple[Variant, ...], Optional[MediaPlaylist]]:
    """Variants (sorted by BANDWIDTH) of a master playlist, or the media playlist itself."""
    import m3u8  # type: ignore[import-untyped]

    try:
        doc = m3u8.loads(text, uri=url)
    except Exception as exc:  # m3u8 raises assorted errors on broken input
        raise PlaylistError(f"{url[:200]}: {exc}") from None
    if doc.is_variant:
        variants = tuple(
            sorted(
                (
                    Variant(
                        p.absolute_uri, int(p.stream_info.bandwidth or 0), p.stream_info.average_bandwidth
                    )
                    for p in doc.playlists
                ),
                key=lambda v: v.bandwidth,
            )
        )
        if not variants:
            raise PlaylistError(f"{url[:200]}: a master playlist without variants")
        return variants, None
    return (), _media(doc, url)


def _media(doc: Any, url: str) -> MediaPlaylist:
    if not text_is_playlist(doc):
        raise PlaylistError(f"{url[:200]}: no #EXTINF segments and no #EXT-X-TARGETDURATION")
    first = int(doc.media_sequence or 0)
    segments = tuple(
        Segment(
            seq=first + i,
            url=s.absolute_uri,
            duration_s=float(s.duration or 0.0),
            pdt_ms=_ms(s.current_program_date_time),
        )
        for i, s in enumerate(doc.segments)
    )
    target = float(doc.target_duration or (segments[0].duration_s if segments else 2.0))
    return MediaPlaylist(target_duration_s=max(0.5, target), segments=segments, ended=bool(doc.is_endlist))


def text_is_playlist(doc: Any) -> bool:
    return bool(doc.segments) or doc.target_duration is not None


def _ms(value: object) -> Optional[int]:
    timestamp = getattr(value, "timestamp", None)
    return int(timestamp() * 1000) if callable(timestamp) else None
