"""An independent reading of docs/protocol.md "Bounds": does a decoded envelope keep every one?

Written from the document, not from station_protocol.bounds, so a bound dropped from the code (or
loosened without the document) makes the property tests fail.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

import station_protocol as sp

from .strategies import FUTURE_MS, INT32_MAX, INT64, PAST_MS, SAFE

MAX_TS_MS = 253_402_300_799_999
TEXT_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")

# kind → field → (class, max chars) for strings, (lo, hi) for numbers; trees: (depth, items, chars).
STRINGS: dict[str, dict[str, tuple[str, int]]] = {
    "birth": {"agent_version": ("token", 64), "boot_id": ("token", 64), "role": ("line", 64)},
    "telemetry": {},
    "event": {"name": ("token", 64), "severity": ("line", 64)},
    "command": {"name": ("token", 64)},
    "result": {"command_id": ("token", 64), "status": ("line", 64), "error": ("text", 2048)},
    "config_reported": {"status": ("line", 64), "error": ("text", 2048)},
}
NUMBERS: dict[str, dict[str, tuple[float, float]]] = {
    "birth": {"session": (0, INT32_MAX), "config_version": (0, INT32_MAX)},
    "death": {"session": (0, INT32_MAX)},
    "telemetry": {
        **dict.fromkeys(
            ["seq", "mem_total", "mem_used", "disk_total", "disk_used", "queue_depth", "queue_dropped"],
            (0, SAFE),
        ),
        "interval_s": (0, 86_400),
        "cpu_pct": (0, 100),
        "load1": (0, 1e6),
        "uptime_s": (0, 3.2e9),
        "temp_c": (-100, 200),
    },
    "command": {"expires_at": (0, MAX_TS_MS), "timeout_s": (0, 86_400)},
    "config_desired": {"version": (0, INT32_MAX)},
    "config_reported": {"version": (0, INT32_MAX)},
}
TREES = {
    ("birth", "hardware"): (3, 64, 256),
    ("event", "detail"): (4, 1024, 4096),
    ("command", "args"): (6, 4096, 4096),
    ("result", "output"): (10, 4096, 8192),
    ("config_desired", "config"): (8, 4096, 4096),
}
IFACE_NUMBERS = {"rx_bytes": (0, SAFE), "tx_bytes": (0, SAFE), "rx_bps": (0, 1e12), "tx_bps": (0, 1e12)}


def assert_string(value: Any, cls: str, max_chars: int, where: str) -> None:
    assert isinstance(value, str), where
    assert len(value) <= max_chars, where
    assert (TEXT_BAD if cls == "text" else LINE_BAD).search(value) is None, where
    if cls == "token":
        assert value, where
        assert not any(c.isspace() for c in value), where
        assert INVISIBLE.search(value) is None, where
    value.encode("utf-8")  # strict: no lone surrogate survives


def assert_number(value: Any, lo: float, hi: float, where: str) -> None:
    assert not isinstance(value, bool), where
    assert isinstance(value, (int, float)), where
    assert math.isfinite(value), where
    assert lo <= value <= hi, (where, value)


def assert_tree(value: Any, depth: int, items: int, chars: int, where: str, level: int = 1) -> None:
    if isinstance(value, str):
        assert_string(value, "text", chars, where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        assert_number(value, *INT64, where)
    elif isinstance(value, float):
        assert math.isfinite(value), where
    elif isinstance(value, (dict, list)):
        assert level <= depth, (where, "too deep")
        assert len(value) <= items, (where, "too many items")
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in pairs:
            if isinstance(key, str):
                assert_string(key, "line", 128, f"{where} key")
            assert_tree(item, depth, items, chars, f"{where}.{key}", level + 1)
    else:
        raise AssertionError(f"{where}: {type(value).__name__} is not a JSON value")


def assert_within_bounds(env: sp.Envelope, now_ms: int | None = None) -> None:
    """Every documented bound holds for ``env`` (decoded with the receive time ``now_ms``, if given)."""
    assert sp.is_valid_device_id(env.dev)
    assert_string(env.id, "token", 64, "envelope.id")
    assert_number(env.ts, 0, MAX_TS_MS, "envelope.ts")
    assert isinstance(env.ts, int)
    if now_ms is not None:
        assert now_ms - PAST_MS <= env.ts <= now_ms + FUTURE_MS, "ts outside the window"
        if env.ts_clamped_from is not None:
            assert env.kind is not sp.Kind.TELEMETRY
            assert env.ts == now_ms
    body = sp.to_dict(env)["body"]
    kind = env.kind.value
    for name, (cls, max_chars) in STRINGS.get(kind, {}).items():
        if body.get(name) is not None:
            assert_string(body[name], cls, max_chars, f"{kind}.{name}")
    for name, (lo, hi) in NUMBERS.get(kind, {}).items():
        if body.get(name) is not None:
            assert_number(body[name], lo, hi, f"{kind}.{name}")
    for (tree_kind, name), limits in TREES.items():
        if tree_kind == kind:
            assert isinstance(body[name], dict)
            assert_tree(body[name], *limits, f"{kind}.{name}")
    if kind == "birth":
        assert len(body["capabilities"]) <= 64
        for cap in body["capabilities"]:
            assert_string(cap, "token", 64, "birth.capabilities")
    if kind == "telemetry":
        assert len(body["interfaces"]) <= 32
        for iface in body["interfaces"]:
            assert_string(iface["name"], "token", 32, "interfaces.name")
            for name, (lo, hi) in IFACE_NUMBERS.items():
                assert_number(iface[name], lo, hi, f"interfaces.{name}")
    # What receivers do next must work: strict JSON (no NaN) in strict UTF-8, as the registry stores it.
    json.dumps(sp.to_dict(env), ensure_ascii=False, allow_nan=False).encode("utf-8")
    unicodedata.normalize("NFC", env.id)
