"""Hypothesis strategies for the wire protocol: valid messages within every bound, and hostile payloads.

The numbers here are docs/protocol.md's "Bounds" table written out again on purpose: the tests check
the implementation against the document, not against its own constants.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import station_protocol as sp

# Bounded so `make test` stays quick; STATION_FUZZ_EXAMPLES=5000 for a deeper run. No deadline: the
# machine is shared, and timing is not what these tests check. No example database in the repo.
FUZZ = settings(
    max_examples=int(os.environ.get("STATION_FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DAY_MS = 86_400_000
NOW_MS = 1_795_700_060_000  # the golden fixtures' "receive time"
PAST_MS, FUTURE_MS = 364 * DAY_MS, DAY_MS
INT64 = (-(2**63), 2**63 - 1)
INT32_MAX = 2**31 - 1
SAFE = 2**53 - 1
DEVICE = "stb-a1b2c3d4"

# Character classes of the document: token ⊂ line ⊂ text.
_TOKEN_CHARS = st.characters(categories=("L", "M", "N", "P", "S"))
_LINE_CHARS = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))
_TEXT_CHARS = st.one_of(_LINE_CHARS, st.sampled_from("\t\n\r"))


def tokens(max_size: int = 64) -> st.SearchStrategy[str]:
    return st.text(_TOKEN_CHARS, min_size=1, max_size=max_size)


def lines(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_LINE_CHARS, max_size=max_size)


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_TEXT_CHARS, max_size=max_size)


def json_values(depth: int, chars: int = 64) -> st.SearchStrategy[Any]:
    """JSON values nesting at most ``depth`` containers (0: scalars only).

    Bushy trees stay shallow (cheap to generate); a chain of single-element containers reaches the
    full ``depth``, so the limit itself is always exercised.
    """
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(*INT64),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(chars),
    )
    if depth == 0:
        return scalar
    inner = st.deferred(lambda: json_values(min(depth - 1, 2), chars))
    chain = scalar.map(lambda leaf: _chain(leaf, depth))
    return st.one_of(
        scalar,
        st.lists(inner, max_size=3),
        st.dictionaries(lines(16), inner, max_size=3),
        chain,
    )


def _chain(leaf: Any, levels: int) -> Any:
    value = leaf
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


def trees(depth: int, chars: int = 64) -> st.SearchStrategy[dict[str, Any]]:
    """A free-form object field whose own object is level 1 of ``depth``."""
    return st.dictionaries(lines(16), json_values(depth - 1, chars), max_size=4)


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


interfaces = st.builds(
    sp.InterfaceCounters,
    name=tokens(32),
    rx_bytes=st.integers(0, SAFE),
    tx_bytes=st.integers(0, SAFE),
    rx_bps=_floats(0, 1e12),
    tx_bps=_floats(0, 1e12),
)

bodies: dict[sp.Kind, st.SearchStrategy[Any]] = {
    sp.Kind.BIRTH: st.builds(
        sp.Birth,
        agent_version=tokens(),
        role=st.sampled_from(["stb", "router"]),
        boot_id=tokens(),
        session=st.integers(0, INT32_MAX),
        capabilities=st.lists(tokens(), max_size=8).map(tuple),
        hardware=trees(3),
        config_version=st.integers(0, INT32_MAX),
    ),
    sp.Kind.DEATH: st.builds(sp.Death, session=st.integers(0, INT32_MAX), graceful=st.booleans()),
    sp.Kind.TELEMETRY: st.builds(
        sp.Telemetry,
        seq=st.integers(0, SAFE),
        interval_s=_floats(0, 86_400),
        cpu_pct=_floats(0, 100),
        load1=_floats(0, 1e6),
        mem_total=st.integers(0, SAFE),
        mem_used=st.integers(0, SAFE),
        disk_total=st.integers(0, SAFE),
        disk_used=st.integers(0, SAFE),
        uptime_s=_floats(0, 3.2e9),
        temp_c=st.none() | _floats(-100, 200),
        queue_depth=st.integers(0, SAFE),
        queue_dropped=st.integers(0, SAFE),
        interfaces=st.lists(interfaces, max_size=4).map(tuple),
    ),
    sp.Kind.EVENT: st.builds(
        sp.Event,
        name=tokens(),
        severity=st.sampled_from(["info", "warning", "error", "critical"]),
        detail=trees(4),
    ),
    sp.Kind.COMMAND: st.builds(
        sp.Command,
        name=tokens(),
        expires_at=st.integers(0, 253_402_300_799_999),
        timeout_s=_floats(0, 86_400),
        args=trees(6),
    ),
    sp.Kind.RESULT: st.builds(
        sp.Result,
        command_id=tokens(),
        status=st.sampled_from(["ok", "failed", "already_applied", "expired", "timeout", "rejected"]),
        output=trees(10),
        error=st.none() | texts(200),
    ),
    sp.Kind.CONFIG_DESIRED: st.builds(sp.ConfigDesired, version=st.integers(0, INT32_MAX), config=trees(8)),
    sp.Kind.CONFIG_REPORTED: st.builds(
        sp.ConfigReported,
        version=st.integers(0, INT32_MAX),
        status=st.sampled_from(["applied", "rejected"]),
        error=st.none() | texts(200),
    ),
}

device_ids = st.builds("{}-{:x}".format, st.sampled_from(["stb", "rtr", "a1"]), st.integers(0, 2**64))


@st.composite
def envelopes(
    draw: st.DrawFn, kind: sp.Kind | None = None, devices: st.SearchStrategy[str] | None = None
) -> sp.Envelope:
    """A valid envelope of ``kind`` (any kind by default) stamped within the window of NOW_MS."""
    chosen = kind if kind is not None else draw(st.sampled_from(list(sp.Kind)))
    body = draw(bodies[chosen])
    ts = draw(st.integers(NOW_MS - PAST_MS, NOW_MS + FUTURE_MS))
    dev = draw(device_ids if devices is None else devices)
    return sp.make(dev, body, msg_id=draw(tokens()), ts=ts)


# Hostile leaves: what broke the fleet in issue 8, and what a careless JSON writer produces.
HOSTILE_STRINGS = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "line\nbreak",
    "tab\tand\rcr",
    "\x1b[31m",
    "\u2028",
    "\u202e evil",
    "zero\u200bwidth",
    " ",
    "",
    "x" * 9000,  # over every string limit, under the payload limit
    "站点",
    "\U0001f600",
]
_ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs", "Cc", "Cf", "Zl", "Zp"]))
hostile_leaves = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(_ANY_CHAR, max_size=20),
    st.integers(),
    st.sampled_from([2**31, 2**53, 2**63, -(2**63) - 1, 10**30, -1, True, False, None]),
    st.floats(),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0]),
)


def hostile_json(depth: int = 4) -> st.SearchStrategy[Any]:
    if depth == 0:
        return hostile_leaves
    inner = st.deferred(lambda: hostile_json(depth - 1))
    return st.one_of(
        hostile_leaves,
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(_ANY_CHAR, max_size=8)), inner, max_size=5
        ),
    )


def nested_json(levels: int, opener: str = "[") -> str:
    """``levels`` nested lists or objects as JSON text (json.dumps itself would recurse too deep)."""
    if opener == "[":
        return "[" * levels + "0" + "]" * levels
    return '{"a":' * levels + "0" + "}" * levels


def dumps(value: Any) -> bytes:
    """JSON bytes of any Python structure, surrogates and NaN included (as a hostile sender writes them)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode("ascii")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated(draw: st.DrawFn, devices: st.SearchStrategy[str] | None = None) -> tuple[str, bytes]:
    """A valid envelope, on its own topic, with one field (anywhere) replaced by a hostile value."""
    env = draw(envelopes(devices=devices))
    message = sp.to_dict(env)
    path = draw(st.sampled_from(_paths(message)))
    message = _replace(message, path, draw(hostile_json(depth=2)))
    return sp.topic(env.dev, sp.CHANNEL_OF_KIND[env.kind]), dumps(message)


_PLACEHOLDER = "__hostile__"
RAW_TOKENS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1" * 400,
    '"\\ud800"',
    '"\\udc00x"',
    '"\\u0000"',
]


@st.composite
def spliced(draw: st.DrawFn, devices: st.SearchStrategy[str] | None = None) -> tuple[str, bytes]:
    """JSON text of a valid envelope with one value replaced by raw hostile JSON (NaN, 1e999, nesting)."""
    env = draw(envelopes(devices=devices))
    message = sp.to_dict(env)
    path = draw(st.sampled_from(_paths(message)[1:]))
    text = json.dumps(_replace(message, path, _PLACEHOLDER), ensure_ascii=True)
    raw = draw(
        st.sampled_from(RAW_TOKENS)
        | st.integers(1, 5000).map(nested_json)
        | st.integers(1, 5000).map(lambda n: nested_json(n, "{"))
    )
    return sp.topic(env.dev, sp.CHANNEL_OF_KIND[env.kind]), text.replace(f'"{_PLACEHOLDER}"', raw).encode()
