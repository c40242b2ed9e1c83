"""Publish a directory into a store directory without a database (USB sideload media, benchmarks, tests)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from station_protocol.content import Chunking, Manifest, canonical_bytes, manifest_to_dict, signed_document
from stationctl.chunker import DEFAULT_CHUNKING, Chunk, chunk_tree

from . import deltas, signing
from .store import ChunkStore


def publish_dir(
    src: Path,
    *,
    store: ChunkStore,
    key_dir: Path,
    key_id: str,
    bundle: str,
    version: str,
    seq: int,
    chunking: Chunking = DEFAULT_CHUNKING,
    delta_from: Sequence[Manifest] = (),
) -> Manifest:
    """Chunk ``src`` into ``store``, sign the manifest with ``key_id`` and write it next to the chunks.

    Format 2 is written too: index objects, a delta from each of ``delta_from`` and the snapshot.
    """

    def sink(chunk: Chunk) -> None:
        if not store.has(chunk.ref.sha256):
            store.put_chunk(chunk.ref.sha256, chunk.ref.size, chunk.stored)

    files = chunk_tree(src, sink=sink, chunking=chunking)
    manifest = Manifest(bundle, version, seq, int(time.time() * 1000), chunking, tuple(files))
    body = manifest_to_dict(manifest)
    key = signing.load_private(key_dir, key_id)
    sig = signing.sign(key, key_id, canonical_bytes(body))
    store.put_manifest(bundle, version, signed_document(body, [sig]))
    deltas.publish_v2(
        store, manifest=manifest, bases=delta_from, sign=lambda payload: signing.sign(key, key_id, payload)
    )
    return manifest
