"""Publish a directory into a store directory without a database (USB sideload media, benchmarks, tests)."""

from __future__ import annotations

import time
from pathlib import Path

from station_protocol.content import Chunking, Manifest, canonical_bytes, manifest_to_dict, signed_document
from stationctl.chunker import DEFAULT_CHUNKING, Chunk, chunk_tree

from . import signing
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
) -> Manifest:
    """Chunk ``src`` into ``store``, sign the manifest with ``key_id`` and write it next to the chunks."""

    def sink(chunk: Chunk) -> None:
        if not store.has(chunk.ref.sha256):
            store.put_chunk(chunk.ref.sha256, chunk.ref.size, chunk.stored)

    files = chunk_tree(src, sink=sink, chunking=chunking)
    manifest = Manifest(bundle, version, seq, int(time.time() * 1000), chunking, tuple(files))
    body = manifest_to_dict(manifest)
    sig = signing.sign(signing.load_private(key_dir, key_id), key_id, canonical_bytes(body))
    store.put_manifest(bundle, version, signed_document(body, [sig]))
    return manifest
