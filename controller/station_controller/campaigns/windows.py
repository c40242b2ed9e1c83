"""Night windows in a station's local time: containment, the current or next window, and UTC intervals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidInput

UTC = timezone.utc


def parse_hhmm(text: str) -> time:
    """``"23:30"`` → time(23, 30); anything else is InvalidInput naming the expected form."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(f"window time {text!r} must be HH:MM in 24-hour local time, e.g. 23:00") from None


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (cached; stations share a handful)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai") from None


@dataclass(frozen=True)
class Window:
    """A daily window ``start``–``end`` in local time; ``end <= start`` crosses midnight, equal = all day."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        return cls(parse_hhmm(start), parse_hhmm(end))

    @property
    def all_day(self) -> bool:
        return self.start == self.end

    def opening(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """UTC start and end of the window that opens on local date ``day``."""
        begin = datetime.combine(day, self.start, tzinfo=tz)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        end = datetime.combine(end_day, self.end, tzinfo=tz)
        return begin.astimezone(UTC), end.astimezone(UTC)

    def current_or_next(self, moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The window containing ``moment`` (UTC), or else the next one to open."""
        if self.all_day:
            return moment, moment + timedelta(days=3650)
        local_day = moment.astimezone(tz).date()
        for offset in (-1, 0, 1, 2):
            begin, end = self.opening(local_day + timedelta(days=offset), tz)
            if moment < end:
                return begin, end
        raise AssertionError("a daily window always opens within two days")  # pragma: no cover

    def contains(self, moment: datetime, tz: ZoneInfo) -> bool:
        begin, _end = self.current_or_next(moment, tz)
        return begin <= moment

    def intervals(self, start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
        """Every window (clipped) overlapping [start, end), in order, as UTC pairs."""
        moment = start
        while moment < end:
            begin, close = self.current_or_next(moment, tz)
            if begin >= end:
                return
            yield max(begin, start), min(close, end)
            moment = close

    def length_s(self) -> float:
        """Nominal length in seconds (a DST change night may differ by an hour)."""
        if self.all_day:
            return 86400.0
        minutes = (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)
        return float((minutes % 1440) * 60)
