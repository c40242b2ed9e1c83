"""One probe session: master playlist, variant choice, live-edge segment fetching, the buffer model.

It runs on the stream thread in real time (``clock``/``wall``/``wait`` are injected so unit tests run
it against a simulated link). Per segment it records download time vs duration and throughput vs the
variant's BANDWIDTH; per playlist refresh it checks that a live playlist moves. Bounded: it keeps the
current media playlist, one 64 KiB chunk and a few counters, whatever the stream's length.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

from .abr import ThroughputEstimator, choose
from .fetch import Fetched, Fetcher, FetchFailed
from .playback import STALLED, Playback
from .playlist import MediaPlaylist, PlaylistError, Segment, Variant, parse
from .settings import ProbeSettings

log = logging.getLogger(__name__)
Clock = Callable[[], float]
Wait = Callable[[float], bool]  # waits up to n seconds; True: stop requested (threading.Event.wait)


@dataclass
class Window:
    """Figures since the last report (reset by ``take``)."""

    download_s: float = 0.0
    media_s: float = 0.0
    bytes: int = 0
    bandwidth_media: float = 0.0  # sum of BANDWIDTH x duration of the segments fetched


@dataclass
class Stats:
    segments: int = 0
    switches: int = 0
    stale_playlists: int = 0
    errors: Dict[str, int] = field(default_factory=dict)
    bitrate_media: float = 0.0  # sum of BANDWIDTH x duration: the duration-weighted average bitrate
    media_s: float = 0.0
    latency_s: Optional[float] = None
    last_status: Optional[int] = None

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class ProbeSession:
    def __init__(
        self,
        url: str,
        *,
        settings: ProbeSettings,
        fetcher: Fetcher,
        clock: Clock,
        wall: Clock,
        wait: Wait,
    ) -> None:
        self.url = url
        self._s = settings
        self._fetcher = fetcher
        self._clock = clock
        self._wall = wall
        self._wait = wait
        self.playback = Playback(
            requested_at=clock(),
            start_buffer_s=settings.start_buffer_s,
            resume_buffer_s=settings.resume_buffer_s,
        )
        self.abr = ThroughputEstimator(settings)
        self.stats = Stats()
        self.window = Window()
        self.variants: Tuple[Variant, ...] = ()
        self.variant: Optional[Variant] = None
        self.failed = False
        self._media: Optional[MediaPlaylist] = None
        self._next_seq: Optional[int] = None
        self._refresh_at = 0.0
        self._moved_at = 0.0
        self._stale = False
        self._last_pdt_end_ms: Optional[int] = None

    # -- the loop ----------------------------------------------------------------------------------
    def step(self) -> bool:
        """Do the next thing a player would do (or wait for it); False when the session is over."""
        self.playback.advance(self._clock())
        if not self.variants:
            return self._load_master()
        due = self._media is None or (not self._media.ended and self._clock() >= self._refresh_at)
        if due and not self._load_media():
            return not self._wait(self._s.retry_s)
        segment = self._next_segment()
        if segment is None:
            return self._idle()
        if self.playback.buffer_s >= self._s.max_buffer_s:
            return not self._wait(min(1.0, self.playback.buffer_s - self._s.max_buffer_s + 0.1))
        self._download(segment)
        return True

    # -- playlists ---------------------------------------------------------------------------------
    def _get(self, url: str, *, http_kind: str, keep: bool, max_bytes: int) -> Optional[Fetched]:
        try:
            got = self._fetcher.get(url, timeout_s=self._s.request_timeout_s, max_bytes=max_bytes, keep=keep)
        except FetchFailed as exc:
            self.stats.error(exc.kind)
            log.info("probe %s: %s", self.url[:120], exc)
            return None
        self.stats.last_status = got.status
        if got.status >= 400:
            self.stats.error(http_kind)
            log.info("probe %s: HTTP %d for %s", self.url[:120], got.status, url[:200])
            return None
        return got

    def _playlist(
        self, url: str, http_kind: str
    ) -> Optional[Tuple[Tuple[Variant, ...], Optional[MediaPlaylist]]]:
        got = self._get(url, http_kind=http_kind, keep=True, max_bytes=self._s.max_playlist_bytes)
        if got is None:
            return None
        try:
            text = got.body.decode("utf-8")
            if not text.lstrip("\ufeff").startswith("#EXTM3U"):
                raise PlaylistError(f"{url[:200]}: no #EXTM3U header")
            return parse(text, url)
        except (UnicodeDecodeError, PlaylistError) as exc:
            self.stats.error("parse")
            log.info("probe %s: %s", self.url[:120], exc)
            return None

    def _load_master(self) -> bool:
        found = self._playlist(self.url, "master_http")
        if found is None:
            return not self._wait(self._s.retry_s)
        variants, media = found
        if media is not None:  # a media playlist given directly: one variant of unknown bandwidth
            self.variants, self._media = (Variant(self.url, 0),), None
        else:
            self.variants = variants
        self.variant = choose(self.variants, None, None, self._s)
        return True

    def _load_media(self) -> bool:
        assert self.variant is not None
        found = self._playlist(self.variant.url, "playlist_http")
        now = self._clock()
        if found is None or found[1] is None:
            if found is not None:
                self.stats.error("parse")
            self._refresh_at = now + self._s.retry_s
            return False
        media = found[1]
        previous = self._media
        self._media = media
        if previous is None or media.last_seq > previous.last_seq or media.ended:
            self._moved_at, self._stale = now, False
            self._refresh_at = now + media.target_duration_s  # RFC 8216 §6.3.4: reload every target
        else:
            self._refresh_at = now + media.target_duration_s / 2  # unchanged: half the target
            self._check_stale(media, now)
        if self._next_seq is None:
            self._next_seq = self._start_seq(media)
        return True

    def _check_stale(self, media: MediaPlaylist, now: float) -> None:
        if not self._stale and now - self._moved_at > self._s.stale_factor * media.target_duration_s:
            self._stale = True  # one count per episode, not per reload
            self.stats.stale_playlists += 1
            self.stats.error("stale_playlist")
            log.info("probe %s: live playlist stale since %.1f s", self.url[:120], now - self._moved_at)

    def _start_seq(self, media: MediaPlaylist) -> int:
        if media.ended or not media.segments:
            return media.segments[0].seq if media.segments else 0
        back = min(len(media.segments), self._s.live_edge_segments)
        return media.segments[-back].seq

    # -- segments ----------------------------------------------------------------------------------
    def _next_segment(self) -> Optional[Segment]:
        media, seq = self._media, self._next_seq
        if media is None or seq is None or not media.segments:
            return None
        first = media.segments[0].seq
        if seq < first:  # fell out of the live window (a long stall): rejoin at the edge
            self._next_seq = seq = self._start_seq(media)
        index = seq - first
        return media.segments[index] if index < len(media.segments) else None

    def _idle(self) -> bool:
        media = self._media
        if media is not None and media.ended:
            self.playback.end_of_stream(self._clock())
            return False
        wake = max(0.05, self._refresh_at - self._clock())
        return not self._wait(min(wake, 1.0))

    def _download(self, segment: Segment) -> None:
        assert self.variant is not None
        assert self._next_seq is not None
        got = self._get(
            segment.url, http_kind="segment_http", keep=False, max_bytes=self._s.max_segment_bytes
        )
        self._next_seq += 1  # a failed segment is skipped, as players skip a missing live segment
        if got is None:
            return
        now = self._clock()
        self.abr.sample(size_bytes=got.size, elapsed_s=got.elapsed_s, duration_s=segment.duration_s)
        self.playback.add(segment.duration_s, now)
        self._account(segment, got)
        if segment.pdt_ms is not None:
            self._last_pdt_end_ms = segment.pdt_ms + int(segment.duration_s * 1000)
        self._latency()
        self._switch()

    def _account(self, segment: Segment, got: Fetched) -> None:
        assert self.variant is not None
        bw = float(self.variant.bandwidth)
        self.stats.segments += 1
        self.stats.media_s += segment.duration_s
        self.stats.bitrate_media += bw * segment.duration_s
        w = self.window
        w.download_s += got.elapsed_s
        w.media_s += segment.duration_s
        w.bytes += got.size
        w.bandwidth_media += bw * segment.duration_s

    def _latency(self) -> None:
        # The playhead is ``buffer_s`` behind the end of the newest segment: its PDT vs the wall clock.
        if self._last_pdt_end_ms is None:
            return
        playhead_ms = self._last_pdt_end_ms - self.playback.buffer_s * 1000
        self.stats.latency_s = max(0.0, self._wall() - playhead_ms / 1000.0)

    def _switch(self) -> None:
        chosen = choose(self.variants, self.variant, self.abr.estimate_bps(), self._s)
        if chosen != self.variant:
            self.stats.switches += 1
            log.info(
                "probe %s: variant %d -> %d bit/s",
                self.url[:120],
                self.variant.bandwidth if self.variant else 0,
                chosen.bandwidth,
            )
            self.variant = chosen
            self._media = None  # the new variant's playlist next; same media sequence numbers

    @property
    def stalled(self) -> bool:
        return self.playback.state == STALLED

    def take_window(self) -> Window:
        window, self.window = self.window, Window()
        return window
