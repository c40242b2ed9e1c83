"""TsdbDropWatch: VictoriaMetrics' own drop counters, parsed and counted as growth after a baseline."""

from __future__ import annotations

from station_controller.observability.metrics import IngestStats
from station_controller.tsdb.drops import TsdbDropWatch, parse_drops

PAGE = """# HELP x
vm_rows_ignored_total{reason="big_timestamp"} %d
vm_rows_ignored_total{reason="small_timestamp"} 3
vm_rows_inserted_total{type="influx"} 900
vm_rows_invalid_total{type="influx"} %d
vm_rows_invalid_total{type="prometheus"} 50
"""


class Pages:
    """A fetch function serving the next page (or failing with ``None``)."""

    def __init__(self, *pages: str | None) -> None:
        self.pages = list(pages)

    def __call__(self, url: str, timeout_s: float) -> str:
        page = self.pages.pop(0)
        if page is None:
            raise ConnectionError("refused")
        return page


def test_parse_takes_the_influx_and_ignored_counters_only() -> None:
    assert parse_drops(PAGE % (7, 2)) == {"big_timestamp": 7, "small_timestamp": 3, "invalid_line": 2}


def test_growth_after_the_baseline_is_counted_and_a_failed_poll_changes_nothing() -> None:
    stats = IngestStats()
    pages = Pages(PAGE % (7, 2), None, PAGE % (9, 2), PAGE % (9, 5), PAGE % (1, 0))
    watch = TsdbDropWatch(url="http://tsdb", stats=stats, interval_s=3600, fetch=pages)
    for _ in range(5):
        watch.check(force=True)
    assert stats.labeled("tsdb_rows_dropped", "big_timestamp") == 2 + 1  # then a restart: counted anew
    assert stats.labeled("tsdb_rows_dropped", "invalid_line") == 3
    assert stats.labeled("tsdb_rows_dropped", "small_timestamp") == 0
    assert pages.pages == []


def test_polls_at_most_every_interval() -> None:
    pages = Pages(PAGE % (1, 1))
    watch = TsdbDropWatch(url="http://tsdb", stats=IngestStats(), interval_s=3600, fetch=pages)
    watch.check()
    watch.check()  # not due: the page list would be empty and raise
    assert pages.pages == []


def test_a_tsdb_without_these_counters_turns_the_watch_off() -> None:
    pages = Pages("influxdb_up 1\n")
    watch = TsdbDropWatch(url="http://tsdb", stats=IngestStats(), interval_s=0, fetch=pages)
    watch.check()
    watch.check()
    assert pages.pages == []
