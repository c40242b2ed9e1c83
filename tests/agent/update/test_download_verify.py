"""Release download and signature check against a real HTTP server and real ed25519 keys."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from pathlib import Path

import pytest

from station_agent.update import download as dl
from station_agent.update.service import WindowClosed, seconds_to_window
from station_agent.update.verify import verify_release
from station_protocol import content
from station_protocol import firmware as fw
from stationctl import firmware_keys as keys

from .rig import FileServer

NOW = 1_795_700_000_000


def _manifest(files: list[fw.FileEntry]) -> dict:
    comp = fw.Compatibility(roles=("stb",))
    m = fw.Manifest("agent", "station-agent", "0.2.0", NOW, NOW + 10**9, comp, tuple(files))
    return fw.manifest_to_dict(m)


def _pin(tmp_path: Path, key_file: Path) -> Path:
    key_id, pub = keys.public_b64(key_file)
    pinned = tmp_path / "pinned"
    pinned.mkdir(exist_ok=True)
    (pinned / f"{key_id}.pub").write_text(pub)
    return pinned


def test_download_resumes_with_range_and_verifies(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4000
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "blob.bin").write_bytes(data)
    entry = fw.FileEntry("blob.bin", len(data), hashlib.sha256(data).hexdigest())
    dest = tmp_path / "got" / "blob.bin"
    dest.parent.mkdir()
    dest.with_name("blob.bin.part").write_bytes(data[:300_000])  # what a kill -9 left
    with FileServer(tmp_path / "www") as srv:
        t = dl.Transfer(10.0, 0, threading.Event())
        got = dl.fetch_file(f"{srv.url}/blob.bin", dest, entry, t, lambda _n: None)
        assert srv.requests == [("/blob.bin", "bytes=300000-")]
    assert got == len(data) - 300_000
    assert dest.read_bytes() == data
    assert not dest.with_name("blob.bin.part").exists()


def test_download_of_altered_bytes_is_tampered(tmp_path: Path) -> None:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "f").write_bytes(b"evil bytes")
    entry = fw.FileEntry("f", 10, hashlib.sha256(b"good bytes").hexdigest())
    with FileServer(tmp_path / "www") as srv, pytest.raises(fw.Refused) as caught:
        dl.fetch_file(
            f"{srv.url}/f", tmp_path / "f", entry, dl.Transfer(5.0, 0, threading.Event()), lambda _n: None
        )
    assert caught.value.refusal == "tampered"
    assert not (tmp_path / "f").exists()


def test_signature_checks(tmp_path: Path) -> None:
    key, other = tmp_path / "k", tmp_path / "o"
    keys.generate(key)
    keys.generate(other)
    pinned = _pin(tmp_path, key)
    manifest = _manifest([fw.FileEntry("a.whl", 1, "0" * 64)])
    assert verify_release(keys.sign(manifest, [key]), pinned).version == "0.2.0"
    # rotation: a document signed by the old and the new key verifies with either pinned
    assert verify_release(keys.sign(manifest, [other, key]), pinned).version == "0.2.0"
    with pytest.raises(fw.Refused, match="unknown_key"):
        verify_release(keys.sign(manifest, [other]), pinned)
    doc = json.loads(keys.sign(manifest, [key]))
    doc["manifest"]["version"] = "9.0.0"
    with pytest.raises(fw.Refused, match="tampered"):
        verify_release(json.dumps(doc).encode(), pinned)
    # a signature over the bare canonical bytes (how content manifests are signed) is no firmware signature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = base64.b64decode(json.loads(key.read_text())["private_key"])
    sig = Ed25519PrivateKey.from_private_bytes(raw).sign(content.canonical_bytes(manifest))
    kid = keys.public_b64(key)[0]
    forged = fw.signed_document(manifest, [fw.Signature(kid, base64.b64encode(sig).decode())])
    with pytest.raises(fw.Refused, match="tampered"):
        verify_release(forged, pinned)


def test_a_content_key_file_cannot_sign_firmware(tmp_path: Path) -> None:
    key = tmp_path / "k"
    keys.generate(key)
    doc = json.loads(key.read_text())
    doc["role"] = "content"
    key.write_text(json.dumps(doc))
    from stationctl.client import CliError

    with pytest.raises(CliError, match="cannot sign firmware"):
        keys.sign(_manifest([fw.FileEntry("a.whl", 1, "0" * 64)]), [key])


def test_restart_windows() -> None:
    assert seconds_to_window(None, 0, NOW) == 0
    assert seconds_to_window([[NOW - 10, NOW + 10]], 0, NOW) == 0
    assert seconds_to_window([[NOW + 5000, NOW + 9000]], 0, NOW) == 5.0
    with pytest.raises(WindowClosed):
        seconds_to_window([[NOW - 9000, NOW - 5000]], 0, NOW)
    with pytest.raises(WindowClosed):
        seconds_to_window(None, NOW - 1, NOW)


def test_cached_files_are_reused_only_when_they_still_verify(tmp_path: Path) -> None:
    from station_agent.update import cache
    from station_agent.update import launcher as boot

    data = b"wheel bytes" * 100
    entry = fw.FileEntry("wheels/x.whl", len(data), hashlib.sha256(data).hexdigest())
    src = tmp_path / "x.whl"
    src.write_bytes(data)
    boot.cache_file(tmp_path, src, entry.sha256)
    assert cache.take(tmp_path, entry, tmp_path / "staging" / entry.path)
    assert (tmp_path / "staging" / entry.path).read_bytes() == data
    (tmp_path / "cache" / entry.sha256).unlink()
    (tmp_path / "cache" / entry.sha256).write_bytes(b"rotten" + data[6:])  # bit rot, or an attacker
    assert not cache.take(tmp_path, entry, tmp_path / "again" / entry.path)
    cache.prune(tmp_path, set())
    assert list((tmp_path / "cache").iterdir()) == []
