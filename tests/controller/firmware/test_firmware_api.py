"""Firmware releases over the staff API: pin keys, upload a signed document, upload its files, list,
retire; the public tree serves the document and files (with Range) to devices; refusals carry a reason."""

from __future__ import annotations

import hashlib
from typing import Any

from station_controller.content import keys as content_keys
from station_protocol import firmware as fw
from tests.controller.api.core_fixtures import Api
from tests.controller.firmware.signing import AGENT_FILES, Key, document, manifest

WHEEL = "wheels/station_agent-0.3.0-py3-none-any.whl"


def _pin(api: Api, key: Key) -> None:
    reply = api.client.post(
        "/api/v1/firmware/keys", json={"public_key": key.public_b64, "label": "k1"}, headers=api.user("admin")
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["key_id"] == key.key_id


def _upload(api: Api, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    reply = api.client.post(
        "/api/v1/firmware/releases", content=body, headers={**headers, "content-type": "application/json"}
    )
    return reply.status_code, reply.json()


def test_a_signed_release_is_uploaded_completed_served_listed_and_retired(api: Api) -> None:
    key = Key()
    _pin(api, key)
    ops = api.user("operator")
    doc = document(key, manifest("0.3.0", AGENT_FILES))
    status, body = _upload(api, doc, ops)
    assert status == 201
    assert body["release_id"] == "agent-0.3.0"
    assert body["state"] == "incomplete"
    assert sorted(body["missing"]) == sorted(AGENT_FILES)
    assert body["key_id"] == key.key_id
    assert _upload(api, doc, ops)[0] == 200  # the same bytes again: no-op

    url = "/api/v1/firmware/releases/agent-0.3.0/files/"
    wrong = api.client.put(url + WHEEL, content=b"X" * 70_000, headers=ops)
    assert wrong.status_code == 422
    assert api.client.put(url + "nope.bin", content=b"x", headers=ops).status_code == 422
    for path, data in AGENT_FILES.items():
        reply = api.client.put(url + path, content=data, headers=ops)
        assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "ready"

    served = api.client.get("/firmware/releases/agent-0.3.0/manifest.json")
    assert served.status_code == 200
    assert served.content == doc  # exactly as uploaded: devices check the signature themselves
    part = api.client.get(f"/firmware/releases/agent-0.3.0/files/{WHEEL}", headers={"range": "bytes=60000-"})
    assert part.status_code == 206
    assert part.content == AGENT_FILES[WHEEL][60000:]
    whole = api.client.get(f"/firmware/releases/agent-0.3.0/files/{WHEEL}")
    assert hashlib.sha256(whole.content).hexdigest() == hashlib.sha256(AGENT_FILES[WHEEL]).hexdigest()
    assert api.client.get("/firmware/releases/agent-9.9/manifest.json").status_code == 404

    viewer = api.user("viewer")
    listed = api.client.get("/api/v1/firmware/releases", headers=viewer).json()["releases"]
    assert [r["release_id"] for r in listed] == ["agent-0.3.0"]
    assert api.client.post("/api/v1/firmware/releases/agent-0.3.0/retire", headers=viewer).status_code == 403
    retired = api.client.post("/api/v1/firmware/releases/agent-0.3.0/retire", headers=ops)
    assert retired.json()["state"] == "retired"


def test_another_manifest_under_an_existing_version_is_a_conflict(api: Api) -> None:
    key = Key()
    _pin(api, key)
    ops = api.user("operator")
    assert _upload(api, document(key, manifest("0.3.0", AGENT_FILES)), ops)[0] == 201
    other = dict(AGENT_FILES, extra=b"more")
    status, body = _upload(api, document(key, manifest("0.3.0", other)), ops)
    assert (status, body["error"]) == (409, "release_exists")


def _refusal(api: Api, body: bytes) -> str:
    status, reply = _upload(api, body, api.user("operator"))
    assert status == 422, reply
    assert reply["error"] == "release_refused"
    return str(reply["reason"])


def test_unsigned_tampered_unknown_expired_and_malformed_documents_are_refused_with_their_reason(
    api: Api,
) -> None:
    key = Key()
    _pin(api, key)
    m = manifest("0.3.0", AGENT_FILES)
    assert _refusal(api, fw.signed_document(m, [])) == "unsigned"
    tampered = dict(m, notes="now with a backdoor")
    assert _refusal(api, fw.signed_document(tampered, [key.sign(m)])) == "tampered"
    assert _refusal(api, document(Key(), m)) == "unknown_key"
    assert _refusal(api, document(key, manifest("0.3.1", AGENT_FILES, expires_in_s=-60))) == "expired"
    assert _refusal(api, b"not json") == "malformed"
    assert _refusal(api, document(key, dict(m, version="three"))) == "malformed"


def test_a_content_key_never_verifies_firmware(api: Api) -> None:
    """The controller's own content signing key is a different role: its signature is an unknown key."""
    _pin(api, Key())
    with api.sessions() as session:
        row = content_keys.create_key(session, settings=api.settings, activate=True)
        key_id = row.key_id
    m = manifest("0.3.0", AGENT_FILES)
    with api.sessions() as session:
        sig = content_keys.sign_with_active(session, settings=api.settings, payload=fw.signing_bytes(m))
    assert sig.key_id == key_id
    doc = fw.signed_document(m, [fw.Signature(sig.key_id, sig.sig)])
    assert _refusal(api, doc) == "unknown_key"


def test_a_retired_key_no_longer_verifies_and_only_admins_pin_keys(api: Api) -> None:
    key = Key()
    ops = api.user("operator")
    denied = api.client.post("/api/v1/firmware/keys", json={"public_key": key.public_b64}, headers=ops)
    assert denied.status_code == 403
    _pin(api, key)
    admin = api.user("admin")
    assert api.client.post(f"/api/v1/firmware/keys/{key.key_id}/retire", headers=admin).status_code == 200
    assert _refusal(api, document(key, manifest("0.3.0", AGENT_FILES))) == "unknown_key"
    bad = api.client.post("/api/v1/firmware/keys", json={"public_key": "A" * 44}, headers=admin)
    assert bad.status_code == 422


def test_a_signed_rollback_release_is_accepted(api: Api) -> None:
    key = Key()
    _pin(api, key)
    status, body = _upload(
        api, document(key, manifest("0.2.1", AGENT_FILES, rollback_of="0.3.0")), api.user("operator")
    )
    assert status == 201
    assert body["rollback_of"] == "0.3.0"
