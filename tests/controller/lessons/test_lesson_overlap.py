"""Overlapping lessons on one STB: the most recently started wins, the older is never sent again.

An STB runs one probe, the last ``stream.probe`` it was told (agent/station_agent/stream/service.py), so
what the dispatcher publishes last for a device is what it plays. Real registry, fake publisher.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from station_controller.lessons import service
from station_controller.settings import Settings
from tests.fakes.commands import FakePublisher

START = datetime(2026, 12, 3, 9, 0)  # Shanghai wall time; 01:00 UTC
STB = "stb-sn-a1"  # TH-001's enrolled STB


def schedule(s: Session, title: str, start: datetime, hours: int = 3) -> int:
    data = service.LessonInput(
        title, f"http://o/{title}.m3u8", start, start + timedelta(hours=hours), stations=("TH-001",)
    )
    return service.create_lesson(s, data=data, by="ops").id


def probes(publisher: FakePublisher) -> list[str]:
    """The ``lesson`` of each stream.probe published to the STB, in publish order."""
    bodies = [json.loads(m["payload"])["body"] for m in publisher.sent]  # type: ignore[arg-type]
    return [b["args"]["lesson"] for b in bodies if b["name"] == "stream.probe"]


def at(local: datetime) -> datetime:
    """Shanghai wall time as the dispatcher's UTC ``now``."""
    return service.utc(local - timedelta(hours=8))


def test_told_in_one_round_the_later_start_is_published_last(
    factory: sessionmaker[Session], settings: Settings, seeded: dict[str, Any]
) -> None:
    publisher = FakePublisher()
    with factory() as s:
        later = schedule(s, "later", START + timedelta(minutes=30))  # created first: the lower id
        earlier = schedule(s, "earlier", START)
        assert (
            service.dispatch(s, settings=settings, publisher=publisher, now=at(START + timedelta(hours=1)))
            == 2
        )
        assert (
            service.dispatch(s, settings=settings, publisher=publisher, now=at(START + timedelta(hours=2)))
            == 0
        )
        assert service.told_devices(s, later) == service.told_devices(s, earlier) == [STB]
    assert probes(publisher) == [service.lesson_label(earlier), service.lesson_label(later)]


def test_a_lesson_starting_during_another_takes_over_and_the_older_is_not_resent(
    factory: sessionmaker[Session], settings: Settings, seeded: dict[str, Any]
) -> None:
    publisher = FakePublisher()
    with factory() as s:
        long_one = schedule(s, "demo", START, hours=12)
        rounds = [START, START + timedelta(hours=2), START + timedelta(hours=3)]
        second = schedule(s, "e2e", rounds[1] - timedelta(minutes=1), hours=1)
        sent = [service.dispatch(s, settings=settings, publisher=publisher, now=at(t)) for t in rounds]
    assert sent == [1, 1, 0]  # the second round tells only the new lesson; after its end nothing is resent
    assert probes(publisher) == [service.lesson_label(long_one), service.lesson_label(second)]
