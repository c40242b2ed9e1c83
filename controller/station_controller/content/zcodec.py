"""zstd for content format 2 (the controller's only ``zstandard`` importer): frames and patch-from."""

from __future__ import annotations

import zstandard

LEVEL = 19


def compress(raw: bytes, level: int = LEVEL) -> bytes:
    return zstandard.ZstdCompressor(level=level, write_checksum=False).compress(raw)


def patch(raw: bytes, base: bytes, level: int = LEVEL) -> bytes:
    """``raw`` as a zstd frame using ``base`` as raw-content dictionary (zstd --patch-from)."""
    window = max(10, min(27, (len(base) + len(raw)).bit_length()))
    params = zstandard.ZstdCompressionParameters.from_level(
        level,
        window_log=window,
        source_size=len(raw),
        dict_size=len(base),
        write_checksum=0,
        write_dict_id=0,
        write_content_size=1,
    )
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdCompressor(compression_params=params, dict_data=dictionary).compress(raw)


def decompress(stored: bytes, size: int) -> bytes:
    return zstandard.ZstdDecompressor(max_window_size=1 << 27).decompress(stored, max_output_size=size)
