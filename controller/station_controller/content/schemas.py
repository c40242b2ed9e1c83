"""Request and response bodies of the content API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..api.types import UtcDateTime


class HashList(BaseModel):
    hashes: list[str] = Field(max_length=10000)


class MissingOut(BaseModel):
    missing: list[str]


class FileIn(BaseModel):
    path: str
    size: int = Field(ge=0)
    mode: int = Field(ge=0, le=0o7777)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    chunks: list[tuple[str, int, int]]


class ChunkingIn(BaseModel):
    algo: str = "fastcdc"
    min: int = Field(gt=0)
    avg: int = Field(gt=0)
    max: int = Field(gt=0)


class VersionCreate(BaseModel):
    version: str
    chunking: ChunkingIn
    files: list[FileIn]


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    bundle: str
    version: str
    seq: int
    manifest_url: str
    total_bytes: int
    stored_bytes: int
    new_bytes: int
    new_raw_bytes: int
    file_count: int
    chunk_count: int
    key_id: str
    created_at: UtcDateTime
    retired: bool


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key_id: str
    public_key: str
    active: bool
    created_at: UtcDateTime
    retired_at: UtcDateTime | None


class GcOut(BaseModel):
    chunks_deleted: int
    bytes_freed: int
    chunks_kept: int
