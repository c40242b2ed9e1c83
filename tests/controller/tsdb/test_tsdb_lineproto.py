"""Line protocol for telemetry and events: names, tags, integer suffixes, escaping, sample timestamps."""

from __future__ import annotations

from station_controller.tsdb.lineproto import escape_tag, event_line, telemetry_lines
from station_protocol import Event, InterfaceCounters, Telemetry


def _sample(**overrides: object) -> Telemetry:
    values: dict[str, object] = dict(
        seq=42,
        interval_s=30.0,
        cpu_pct=12.5,
        load1=0.25,
        mem_total=1000,
        mem_used=400,
        disk_total=9000,
        disk_used=100,
        uptime_s=86400.0,
        temp_c=51.5,
        interfaces=(InterfaceCounters("eth0", 10, 20, 3200.0, 96.5), InterfaceCounters("lo", 1, 1, 5.0, 5.0)),
    )
    values.update(overrides)
    return Telemetry(**values)  # type: ignore[arg-type]


def test_telemetry_line_has_every_field_and_the_sample_time() -> None:
    lines = telemetry_lines("stb-a1", "stb", 1795700030000, _sample())
    head, fields, ts = lines[0].split(" ")
    assert head == "telemetry,device=stb-a1,role=stb"
    assert ts == "1795700030000"
    parsed = dict(item.split("=") for item in fields.split(","))
    assert parsed["seq"] == "42i"
    assert parsed["mem_used"] == "400i"
    assert parsed["cpu_pct"] == "12.5"
    assert parsed["temp_c"] == "51.5"
    assert set(parsed) == {
        "seq",
        "mem_used",
        "mem_total",
        "disk_used",
        "disk_total",
        "queue_depth",
        "queue_dropped",
        "cpu_pct",
        "load1",
        "uptime_s",
        "temp_c",
    }


def test_one_iface_line_per_interface() -> None:
    lines = telemetry_lines("stb-a1", "stb", 5, _sample())
    assert (
        lines[1]
        == "iface,device=stb-a1,role=stb,iface=eth0 rx_bps=3200.0,tx_bps=96.5,rx_bytes=10i,tx_bytes=20i 5"
    )
    assert lines[2].startswith("iface,device=stb-a1,role=stb,iface=lo ")
    assert len(lines) == 3


def test_missing_temperature_and_role_are_left_out() -> None:
    line = telemetry_lines("stb-a1", "", 5, _sample(temp_c=None, interfaces=()))[0]
    assert line.startswith("telemetry,device=stb-a1 ")
    assert "temp_c" not in line


def test_event_line_escapes_tag_values() -> None:
    line = event_line("rt-b2", "router", 7, Event(name="disk low,=x", severity="warning"))
    assert line == "event,device=rt-b2,role=router,name=disk\\ low\\,\\=x,severity=warning count=1i 7"


def test_escape_tag_handles_backslash_newline_and_control_characters() -> None:
    assert escape_tag("a\\b\nc") == "a\\\\b\\ c"
    assert escape_tag("x\r\ty\x00\x7f") == "x\\ \\ y\\ \\ "


def test_newline_in_an_event_name_stays_one_line_with_its_own_tags() -> None:
    line = event_line("rt-b2", "router", 7, Event(name="boom\nevil,device=other x=1i 9", severity="error"))
    assert "\n" not in line
    head, fields, ts = _split_unescaped(line)
    assert (fields, ts) == ("count=1i", "7")
    assert head.startswith("event,device=rt-b2,role=router,name=boom\\ evil\\,device\\=other\\ x\\=1i\\ 9,")


def test_lone_surrogate_becomes_a_replacement_character() -> None:
    line = event_line("rt-b2", "router", 7, Event(name="bad\ud800name", severity="info"))
    assert "name=bad\ufffdname," in line
    line.encode("utf-8")  # no UnicodeEncodeError: the point cannot poison a batch


def _split_unescaped(line: str) -> list[str]:
    """Split a line on its unescaped spaces (measurement+tags, fields, timestamp)."""
    parts, current, escaped = [], "", False
    for char in line:
        if char == " " and not escaped:
            parts.append(current)
            current = ""
            continue
        current += char
        escaped = char == "\\" and not escaped
    return [*parts, current]


def test_values_the_tsdb_cannot_store_leave_their_field_out_not_the_line() -> None:
    sample = _sample(
        mem_used=2**64,
        cpu_pct=float("nan"),
        load1=10**400,
        temp_c=float("inf"),
        interfaces=(InterfaceCounters("eth0", 10**5000, 20, float("-inf"), 96.5),),
    )
    telemetry, iface = telemetry_lines("stb-a1", "stb", 5, sample)
    fields = dict(item.split("=") for item in telemetry.split(" ")[1].split(","))
    assert "mem_used" not in fields
    assert "cpu_pct" not in fields
    assert "load1" not in fields
    assert "temp_c" not in fields
    assert fields["seq"] == "42i"
    assert iface == "iface,device=stb-a1,role=stb,iface=eth0 tx_bps=96.5,tx_bytes=20i 5"
