"""SMS codes: brute force (4th attempt refused), limits per phone / IP / MAC, cooldown, phone validation."""

from __future__ import annotations

import json

from tests.controller.portal.conftest import Portal, PortalFactory

PHONE = "13800138000"


def _verify(portal: Portal, form: dict[str, str], code: str) -> tuple[int, str]:
    reply = portal.client.post(
        "/portal/sms/verify", data={**form, "phone": PHONE, "code": code, "accept_terms": "1"}
    )
    return reply.status_code, reply.text


def test_the_fourth_attempt_is_refused_even_with_the_right_code(portal: Portal) -> None:
    form = portal.open()
    portal.client.post("/portal/sms/send", data={**form, "phone": PHONE})
    right = portal.last_code(PHONE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for left in (2, 1, 0):
        status, text = _verify(portal, form, wrong)
        assert status == 403
        assert f"{left} attempt(s) left" in text
    status, text = _verify(portal, form, right)
    assert status == 403
    assert "too many wrong codes" in text
    assert portal.commands("portal.allow") == []


def test_the_outbox_gets_one_json_line_per_code_and_the_code_is_stored_hashed(portal: Portal) -> None:
    form = portal.open()
    portal.client.post("/portal/sms/send", data={**form, "phone": "+86 138-0013-8000"})
    [line] = (portal.api.settings.data_dir / "sms-outbox.jsonl").read_text().splitlines()
    entry = json.loads(line)
    assert set(entry) == {"phone", "code", "ts"}
    assert entry["phone"] == PHONE
    assert len(entry["code"]) == 6
    from station_controller.portal.models import SmsCode

    with portal.api.sessions() as session:
        stored = session.query(SmsCode).one()
        assert entry["code"] not in stored.code_hash
        assert len(stored.code_hash) == 64


def test_cooldown_between_two_codes_to_one_phone(portal: Portal) -> None:
    form = portal.open()
    assert portal.client.post("/portal/sms/send", data={**form, "phone": PHONE}).status_code == 200
    again = portal.client.post("/portal/sms/send", data={**form, "phone": PHONE})
    assert again.status_code == 429
    assert 'data-code="sms_rate_limited"' in again.text
    assert "wait" in again.text


def test_daily_limit_per_phone(make_portal: PortalFactory) -> None:
    portal = make_portal(portal_sms_cooldown_s=0, portal_sms_per_phone_per_day=2)
    for i in range(2):
        form = portal.open(mac=f"aa:bb:cc:00:01:0{i}")
        assert portal.client.post("/portal/sms/send", data={**form, "phone": PHONE}).status_code == 200
    form = portal.open(mac="aa:bb:cc:00:01:09")
    refused = portal.client.post("/portal/sms/send", data={**form, "phone": PHONE})
    assert refused.status_code == 429
    assert "limit per phone" in refused.text
    other = portal.client.post("/portal/sms/send", data={**form, "phone": "13900139000"})
    assert other.status_code == 200


def test_daily_limit_per_source_ip(make_portal: PortalFactory) -> None:
    portal = make_portal(portal_sms_cooldown_s=0, portal_sms_per_ip_per_day=2)
    for i, phone in enumerate(("13800000001", "13800000002")):
        form = portal.open(mac=f"aa:bb:cc:00:02:0{i}")
        assert portal.client.post("/portal/sms/send", data={**form, "phone": phone}).status_code == 200
    form = portal.open(mac="aa:bb:cc:00:02:09")
    refused = portal.client.post("/portal/sms/send", data={**form, "phone": "13800000003"})
    assert refused.status_code == 429
    assert "limit per ip" in refused.text


def test_daily_limit_per_mac(make_portal: PortalFactory) -> None:
    portal = make_portal(portal_sms_cooldown_s=0, portal_sms_per_mac_per_day=1)
    form = portal.open()
    assert portal.client.post("/portal/sms/send", data={**form, "phone": "13800000001"}).status_code == 200
    refused = portal.client.post("/portal/sms/send", data={**form, "phone": "13800000002"})
    assert refused.status_code == 429
    assert "limit per mac" in refused.text


def test_only_mainland_mobile_numbers_get_a_code(portal: Portal) -> None:
    form = portal.open()
    for bad in ("12800138000", "1380013800", "138001380001", "abc", "+1 2025550123"):
        reply = portal.client.post("/portal/sms/send", data={**form, "phone": bad})
        assert reply.status_code == 422
        assert 'data-code="invalid_phone"' in reply.text
    assert not (portal.api.settings.data_dir / "sms-outbox.jsonl").exists()


def test_a_form_without_a_valid_form_token_is_refused(portal: Portal) -> None:
    form = portal.open()
    reply = portal.client.post(
        "/portal/sms/send", data={"login": form["login"], "csrf": "0" * 64, "phone": PHONE}
    )
    assert reply.status_code == 403
    assert not (portal.api.settings.data_dir / "sms-outbox.jsonl").exists()
