"""Firmware format: goldens decode into the typed specs; manifests parse strictly; admission."""

from __future__ import annotations

import json

import pytest

import station_protocol as sp
from fixtures.golden import valid_messages
from station_protocol import codec
from station_protocol import firmware as fw

from .strategies import NOW_MS

NOW = 1_795_700_000_000


def _manifest(**over: object) -> dict:
    base = {
        "format": fw.FORMAT,
        "kind": "agent",
        "name": "station-agent",
        "version": "0.2.0",
        "created_ms": NOW - 1000,
        "expires_ms": NOW + 86_400_000,
        "rollback_of": None,
        "notes": "",
        "compatibility": {
            "roles": ["stb", "router"],
            "hardware_models": [],
            "rauc_compatible": None,
            "min_agent_version": "0.1.0",
            "python": "3.11",
            "arch": "x86_64",
        },
        "files": [{"path": "wheels/a.whl", "size": 3, "sha256": "0" * 64}],
    }
    base.update(over)
    return base


DEVICE = fw.Device(
    role="stb",
    hardware_model="x",
    agent_version="0.1.0",
    installed_version="0.1.0",
    python="3.11",
    arch="x86_64",
)


def _firmware_goldens() -> list:
    return [g for g in valid_messages() if "firmware" in g.name]


def test_there_are_firmware_goldens_for_every_spec() -> None:
    names = {g.message["body"].get("name") for g in _firmware_goldens() if g.message}
    assert {fw.UPDATE, fw.STATUS, fw.PROGRESS} <= names


@pytest.mark.parametrize("golden", _firmware_goldens(), ids=lambda g: g.name)
def test_firmware_golden_decodes_typed_and_round_trips(golden) -> None:
    parsed, env = sp.decode_from(golden.topic, golden.payload, now_ms=NOW_MS)
    body = golden.message["body"]
    if env.kind is sp.Kind.COMMAND:
        spec = {s.name: s for s in fw.COMMAND_SPECS}[body["name"]]
        typed = codec.decode(spec.args, body["args"], "args")
        assert codec.encode(typed) == {**codec.encode(typed), **body["args"]}
    elif env.kind is sp.Kind.EVENT:
        typed = codec.decode(fw.Progress, body["detail"], "detail")
        assert codec.encode(typed) == body["detail"]
    elif env.kind is sp.Kind.RESULT:
        name = "firmware.update" if "job_id" in body["output"] else "firmware.status"
        spec = {s.name: s for s in fw.COMMAND_SPECS}[name]
        typed = codec.decode(spec.output, body["output"], "output")
        assert codec.encode(typed) == body["output"]
    else:
        assert env.body.agent_slot == "b"
        assert env.body.os_slot == "rootfs.1"
        last = codec.decode(fw.LastUpdate, env.body.last_update, "last_update")
        assert last.state == "committed"


def test_birth_without_firmware_fields_encodes_without_them() -> None:
    golden = next(g for g in valid_messages() if g.name == "birth")
    _, env = sp.decode_from(golden.topic, golden.payload, now_ms=NOW_MS)
    assert env.body.agent_slot is None
    assert "agent_slot" not in json.loads(sp.encode(env))["body"]


def test_bad_progress_state_is_named() -> None:
    detail = dict(
        next(g for g in _firmware_goldens() if g.name == "event_firmware_progress").message["body"]["detail"]
    )
    detail["state"] = "exploded"
    with pytest.raises(sp.ProtocolError, match="detail.state"):
        codec.decode(fw.Progress, detail, "detail")


def test_manifest_round_trips_and_canonical_bytes_are_stable() -> None:
    m = fw.parse_manifest(_manifest())
    assert fw.manifest_to_dict(m) == _manifest()
    assert fw.signing_bytes(_manifest()).startswith(fw.SIGNING_CONTEXT)
    reordered = dict(reversed(list(_manifest().items())))
    assert fw.canonical_bytes(reordered) == fw.canonical_bytes(_manifest())


@pytest.mark.parametrize(
    ("over", "where"),
    [
        ({"format": "station-content/1"}, "format"),
        ({"kind": "kernel"}, "kind"),
        ({"version": "1.x"}, "version"),
        ({"files": []}, "files"),
        ({"files": [{"path": "../x", "size": 1, "sha256": "0" * 64}]}, "path"),
        ({"compatibility": {"roles": []}}, "roles"),
    ],
)
def test_malformed_manifest_is_named(over: dict, where: str) -> None:
    with pytest.raises(sp.ProtocolError, match=where):
        fw.parse_manifest(_manifest(**over))


@pytest.mark.parametrize(
    ("over", "device", "reason"),
    [
        ({"expires_ms": NOW - 1}, DEVICE, "expired"),
        ({"version": "0.1.0"}, DEVICE, "not_newer"),
        ({"version": "0.0.9"}, DEVICE, "not_newer"),
        ({"compatibility": {**_manifest()["compatibility"], "roles": ["router"]}}, DEVICE, "incompatible"),
        ({"compatibility": {**_manifest()["compatibility"], "arch": "aarch64"}}, DEVICE, "incompatible"),
        (
            {"compatibility": {**_manifest()["compatibility"], "min_agent_version": "0.1.1"}},
            DEVICE,
            "incompatible",
        ),
        ({"version": "0.0.9", "rollback_of": "0.0.8"}, DEVICE, "not_newer"),
    ],
)
def test_admission_refuses_with_reason(over: dict, device: fw.Device, reason: str) -> None:
    with pytest.raises(fw.Refused) as caught:
        fw.admit(fw.parse_manifest(_manifest(**over)), device, NOW)
    assert caught.value.refusal == reason


def test_signed_rollback_release_is_admitted_and_newer_version_too() -> None:
    fw.admit(fw.parse_manifest(_manifest(version="0.0.9", rollback_of="0.1.0")), DEVICE, NOW)
    fw.admit(fw.parse_manifest(_manifest(version="0.1.0.1")), DEVICE, NOW)


def test_document_without_signature_is_unsigned() -> None:
    raw = json.dumps({"manifest": _manifest(), "signatures": []}).encode()
    with pytest.raises(fw.Refused) as caught:
        fw.split_document(raw)
    assert caught.value.refusal == "unsigned"
