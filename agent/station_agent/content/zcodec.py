"""zstd decoding for content format 2 (the agent's only ``zstandard`` importer, imported on first use)."""

from __future__ import annotations

from typing import Optional


class DecodeError(ValueError):
    """The stored bytes are not a valid frame of the announced size (a corrupt or tampered object)."""


def decode(stored: bytes, size: int, base: Optional[bytes] = None) -> bytes:
    """A zstd frame (``base``: the raw-content dictionary of a patch) back to exactly ``size`` bytes."""
    import zstandard

    try:
        if base is None:
            dctx = zstandard.ZstdDecompressor(max_window_size=1 << 27)
        else:
            dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            dctx = zstandard.ZstdDecompressor(dict_data=dictionary, max_window_size=1 << 27)
        raw = dctx.decompress(stored, max_output_size=size)
    except zstandard.ZstdError as exc:
        raise DecodeError(str(exc)) from exc
    if len(raw) != size:
        raise DecodeError(f"decoded {len(raw)} bytes, expected {size}")
    return raw
