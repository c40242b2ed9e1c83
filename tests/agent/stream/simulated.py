"""A simulated HLS origin behind a simulated link: the probe's Fetcher, driven by one fake clock.

Live: segment ``n`` of every variant is published at ``start + (n + 1) x duration``; the playlist holds
the last ``window`` segments. A download takes ``rtt + 8 x size / link_bps`` of simulated time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from station_agent.stream.fetch import Fetched, FetchFailed

BASE = "http://origin.test/live"
EPOCH = 1_795_000_000.0


@dataclass
class SimClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now

    def wait(self, seconds: float) -> bool:
        self.now += max(seconds, 0.001)
        return False


@dataclass
class SimOrigin:
    clock: SimClock
    link_bps: float
    bitrates: tuple[int, ...] = (400_000, 1_200_000)
    duration_s: float = 2.0
    window: int = 6
    rtt_s: float = 0.02
    vod_segments: int = 0  # > 0: a VOD of that many segments
    missing: set[int] = field(default_factory=set)  # segment numbers answering 404
    frozen_after: float | None = None  # the live playlist stops moving at this time (stale)
    unreachable: bool = False
    requests: list[str] = field(default_factory=list)

    def get(self, url: str, *, timeout_s: float, max_bytes: int, keep: bool) -> Fetched:
        self.requests.append(url)
        if self.unreachable:
            self.clock.now += 0.01
            raise FetchFailed("unreachable", f"GET {url}: [Errno 111] Connection refused")
        name = url.rsplit("/", 1)[-1]
        if name == "master.m3u8":
            return self._text(self._master())
        variant, _, rest = name.partition("_")
        bitrate = self.bitrates[int(variant[1:])]
        if rest == "index.m3u8":
            return self._text(self._media(variant))
        number = int(rest.split(".")[0])
        if number in self.missing:
            return self._answer(404, 20)
        return self._answer(200, int(bitrate * self.duration_s / 8 * 0.9))

    def close(self) -> None:
        pass

    def _answer(self, status: int, size: int) -> Fetched:
        elapsed = self.rtt_s + size * 8 / self.link_bps
        self.clock.now += elapsed
        return Fetched(status=status, size=size, elapsed_s=elapsed)

    def _text(self, text: str) -> Fetched:
        data = text.encode()
        got = self._answer(200, len(data))
        return Fetched(status=200, size=len(data), elapsed_s=got.elapsed_s, body=data)

    def _master(self) -> str:
        lines = ["#EXTM3U"]
        for i, bw in enumerate(self.bitrates):
            lines += [f"#EXT-X-STREAM-INF:BANDWIDTH={bw},RESOLUTION=640x360", f"v{i}_index.m3u8"]
        return "\n".join(lines) + "\n"

    def _media(self, variant: str) -> str:
        if self.vod_segments:
            first, last = 0, self.vod_segments - 1
        else:
            now = self.clock.now if self.frozen_after is None else min(self.clock.now, self.frozen_after)
            last = int(now / self.duration_s) - 1
            first = max(0, last - self.window + 1)
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(self.duration_s)}"]
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first}")
        for n in range(first, last + 1):
            pdt = dt.datetime.fromtimestamp(EPOCH + n * self.duration_s, tz=dt.timezone.utc)
            lines += [f"#EXT-X-PROGRAM-DATE-TIME:{pdt.isoformat(timespec='milliseconds')}"]
            lines += [f"#EXTINF:{self.duration_s:.3f},", f"{variant}_{n}.ts"]
        if self.vod_segments:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"
