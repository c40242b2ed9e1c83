"""A delta item decodes on the device with exactly the bases it names: the publisher's dictionary and the
agent's are the same bytes, also for a chunk list above the chunk bases' bound (a 1 GiB file's list)."""

from __future__ import annotations

import hashlib
import json
import random

from station_agent.content.zcodec import decode
from station_controller.content import deltas


def _chunk_list(rng: random.Random, rows: int) -> list[list[object]]:
    return [[hashlib.sha256(rng.randbytes(8)).hexdigest(), rng.randint(16_384, 262_144)] for _ in range(rows)]


def test_a_patch_of_a_chunk_list_larger_than_max_base_decodes_with_its_named_base() -> None:
    rng = random.Random(7)
    old = _chunk_list(rng, 20_000)
    new = list(old)
    for _ in range(10):  # ten 1 KiB inserts in a big file: a few changed entries of its list
        new.insert(rng.randrange(len(new)), _chunk_list(rng, 1)[0])
    base = json.dumps(old, separators=(",", ":")).encode()
    raw = json.dumps(new, separators=(",", ":")).encode()
    assert len(base) > deltas.MAX_BASE  # the case that broke: the dictionary was cut to MAX_BASE
    codec, body = deltas.encode(raw, [base])
    assert codec == "p"
    assert len(body) < 10_000  # a patch, not the list
    assert decode(body, len(raw), base) == raw


def test_a_chunk_patch_decodes_with_the_joined_bases() -> None:
    rng = random.Random(8)
    bases = [rng.randbytes(200_000), rng.randbytes(300_000)]
    joined = b"".join(bases)
    raw = joined[:250_000] + b"1 KiB inserted here" * 50 + joined[250_000:]
    codec, body = deltas.encode(raw, bases)
    assert codec == "p"
    assert decode(body, len(raw), joined) == raw
