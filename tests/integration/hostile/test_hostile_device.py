"""One enrolled device attacks with its own credentials while honest devices and real agents run: it can
only ever affect its own data (issue 8). The tests run in file order on one fleet; the last one checks
what the honest devices sent over the whole run."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from functools import partial

import httpx
import pytest

from station_controller.devstack.run import ADMIN_USERNAME
from station_protocol import Channel, Event, Result, encode, make, topic
from tests.support import MqttTestClient, wait_until

from . import payloads as p
from .attacker import flood, oversized, take_over, telemetry_flood
from .fleet import Fleet
from .honest import RealAgent, sample
from .lab import CONTROLLER_ENV
from .observe import counted, grown, rejects

pytestmark = pytest.mark.integration
MALFORMED: dict[str, Callable[..., list[p.Payload]]] = {
    "unicode": p.unicode_payloads,
    "timestamp": p.timestamp_payloads,
    "range": p.range_payloads,
    "structure": p.structure_payloads,
    "numbers": p.number_payloads,
    "types": p.type_payloads,
    "spoof": p.spoof_payloads,  # also given the victim: an honest device's id
}
HOSTILE_SOURCE = "127.0.0.2"  # the box's own address on loopback (the API trusts no X-Forwarded-For)
FLOOD_MESSAGES = 20_000
FLOOD_FIRST_SEQ = 1_000_000
MESSAGE_BURST = int(CONTROLLER_ENV["STATION_INGEST_DEVICE_MESSAGE_BURST"])
MESSAGES_PER_S = float(CONTROLLER_ENV["STATION_INGEST_DEVICE_MESSAGES_PER_S"])
FLOOD_BIG_EVENTS = 150  # ~60 KiB each: a byte flood inside the message size limit
_sent_bad: list[str] = []


def _harm(fleet: Fleet, mark: float) -> str:
    try:
        fleet.assert_unharmed(mark)
    except AssertionError as exc:
        return f"honest fleet harmed: {exc}"
    return ""


def test_client_id_takeover_of_a_device_and_of_the_controller_harms_no_one(fleet: Fleet) -> None:
    hostile = fleet.hostile
    controller_ids = fleet.lab.controller_client_ids() | {f"controller-{socket.gethostname()}"}
    targets = [fleet.honest[0].device_id, fleet.agents[0].device_id, *sorted(controller_ids)]
    kicked_before = {d.device_id: d.disconnects for d in fleet.honest}
    log_offset = fleet.lab.broker_log_size()
    start = time.time()
    results = [take_over(fleet.lab, hostile, target, rounds=8, hold_s=0.4) for target in targets]
    mark = time.time()
    harm = _harm(fleet, mark)
    kicked = {d.device_id: d.disconnects - kicked_before[d.device_id] for d in fleet.honest}
    stolen = {r.target: r.stolen[:5] for r in results if r.stolen}
    not_ready = fleet.not_ready_since(start)
    # Mosquitto logs every session it hands to a newcomer with the same client id.
    taken = [line for line in fleet.lab.broker_log_since(log_offset) if "closing old connection" in line]
    assert not taken, f"the broker gave away sessions to the attacker ({targets}): {taken[:5]}"
    assert not stolen, f"the attacker received other devices' uplinks under a taken-over id: {stolen}"
    assert not any(kicked.values()), f"honest devices kicked off by the attacker's client id: {kicked}"
    assert not not_ready, f"/readyz not 200 while the controller's id was fought over: {not_ready[:5]}"
    assert not harm, harm


def test_retained_publishes_on_channels_that_must_not_be_retained_are_refused(fleet: Fleet) -> None:
    dev = fleet.hostile.device_id
    result = Result(command_id="c" * 32, status="ok")
    messages = {
        Channel.TELEMETRY: encode(make(dev, sample(5_000_000))),
        Channel.EVENT: encode(make(dev, Event(name="retained.event", severity="info"))),
        Channel.RESULT: encode(make(dev, result)),
    }
    before = fleet.metrics()
    hostile = fleet.lab.mqtt_client(fleet.hostile, client_id=dev)
    assert not hostile.connect().is_failure
    try:
        refused = [
            ch
            for ch, data in messages.items()
            if hostile.publish(topic(dev, ch), data, retain=True).is_failure
        ]
    finally:
        hostile.close()
    accepted = len(messages) - len(refused)
    mark = time.time()
    try:
        wait_until(partial(_counted_at_least, fleet, before, "retained_not_allowed", accepted), timeout=15)
    except AssertionError:
        pytest.fail(f"{accepted} retained publishes not counted as retained_not_allowed; grew "
                    f"{grown(before, fleet.metrics())}")  # fmt: skip
    control = fleet.honest[0].device_id  # its birth is retained on state, where retain is allowed
    wait_until(
        partial(_nothing_retained, fleet, dev, control),
        timeout=20,
        interval=0.5,
        message=f"broker still retains {dev}'s telemetry/event/result",
    )
    harm = _harm(fleet, mark)
    assert not harm, harm


def _counted_at_least(fleet: Fleet, before: dict[str, float], name: str, count: int) -> bool:
    return counted(before, fleet.metrics(), name) >= count


def _nothing_retained(fleet: Fleet, dev: str, control: str) -> bool:
    """True when the observer sees the control's retained birth but nothing retained of ``dev``."""
    observer = fleet.lab.observer()
    assert not observer.connect().is_failure, "observer account refused"
    try:
        observer.subscribe(topic(control, Channel.STATE))
        for channel in (Channel.TELEMETRY, Channel.EVENT, Channel.RESULT):
            observer.subscribe(topic(dev, channel))
        # Retained messages arrive right after the SUBACK; the control proves they would be seen.
        wait_until(lambda: observer.received(topic(control, Channel.STATE)), timeout=10,
                   message=f"observer sees {control}'s retained birth")  # fmt: skip
        time.sleep(0.5)
        retained = [m.topic for m in observer.received() if m.retain and m.topic.startswith(f"st/v1/{dev}/")]
        return not retained
    finally:
        observer.close()


@pytest.mark.parametrize("family", list(MALFORMED))
def test_malformed_and_out_of_range_payloads_are_rejected_by_reason(fleet: Fleet, family: str) -> None:
    dev = fleet.hostile.device_id
    uncounted: list[str] = []
    hostile = _connect_hostile(fleet)
    try:
        victim = fleet.honest[1].device_id
        built = p.spoof_payloads(dev, victim) if family == "spoof" else MALFORMED[family](dev)
        for payload in built:
            before = fleet.metrics()
            try:
                refused = hostile.publish(topic(dev, payload.channel), payload.data, retain=payload.retain)
            except AssertionError as exc:  # no PUBACK: the broker dropped us; carry on with a new session
                uncounted.append(f"{payload.label}: not acknowledged by the broker ({exc})")
                hostile.close()
                hostile = _connect_hostile(fleet)
                continue
            if refused.is_failure:
                continue  # refused by the broker: never reaches the controller
            _sent_bad.append(payload.label)
            try:
                wait_until(partial(_counted_once, fleet, before, payload.expect), timeout=5, interval=0.1)
            except AssertionError:
                uncounted.append(
                    f"{payload.label}: no {payload.expect}; counters grew {grown(before, fleet.metrics())}"
                )
    finally:
        hostile.close()
    harm = _harm(fleet, time.time())
    poison = _stored_poison(fleet, dev)
    assert not uncounted, f"{family}: not counted by its reason: {uncounted}"
    assert not poison, f"rejected data reached the TSDB: {poison}"
    assert not harm, harm


def _connect_hostile(fleet: Fleet) -> MqttTestClient:
    client = fleet.lab.mqtt_client(fleet.hostile, client_id=fleet.hostile.device_id)
    assert not client.connect().is_failure, "the hostile device's own credentials were refused"
    return client


def _counted_once(fleet: Fleet, before: dict[str, float], name: str) -> bool:
    return counted(before, fleet.metrics(), name) >= 1


def _stored_poison(fleet: Fleet, dev: str) -> list[str]:
    found = []
    seqs = {seq for _, seq in fleet.tsdb.seq_samples(dev)}
    found += [f"telemetry seq {s}" for s in sorted(seqs & {*range(905, 913), p.INT64_MAX + 1})]
    for row in fleet.tsdb.series(f'event_count{{device="{dev}"}}'):
        name = row.get("name", "")
        if not name.isprintable() or "\ufffd" in name:
            found.append(f"event name {name!r}")
    rows = fleet.tsdb.query(f'telemetry_mem_total{{device="{dev}"}} > {float(p.INT64_MAX)}')
    found += [f"mem_total {r['value'][1]}" for r in rows]
    return found


def test_failed_enrollments_and_logins_from_a_box_lock_out_no_one(fleet: Fleet) -> None:
    lab = fleet.lab
    _, serial, token = lab.register()  # a box still waiting to enroll; its serial is printed on it
    password = (lab.stack.data_dir / "admin-password.txt").read_text(encoding="utf-8").strip()
    # The hostile box talks from its own source address; staff and the new box from another.
    # It also claims to be the staff's address: a trusted X-Forwarded-For would pin its failures on them.
    box = httpx.Client(
        base_url=lab.url,
        transport=httpx.HTTPTransport(local_address=HOSTILE_SOURCE),
        headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"},
    )
    with box:
        enroll_codes = [
            box.post(
                "/api/v1/enroll", json={"serial": serial, "token": f"guess-{i:04d}-{'x' * 20}"}
            ).status_code
            for i in range(15)
        ]
        login_codes = [
            box.post(
                "/api/v1/auth/login", json={"username": ADMIN_USERNAME, "password": f"guess-{i}"}
            ).status_code
            for i in range(15)
        ]
    enrolled = httpx.post(f"{lab.url}/api/v1/enroll", json={"serial": serial, "token": token}, timeout=30)
    login = httpx.post(
        f"{lab.url}/api/v1/auth/login", json={"username": ADMIN_USERNAME, "password": password}, timeout=30
    )
    assert set(enroll_codes) <= {401, 429}, f"guessed enrollments answered {enroll_codes}"
    assert set(login_codes) <= {401, 429}, f"guessed logins answered {login_codes}"
    assert enrolled.status_code == 200, f"valid token refused after a box's guesses: {enrolled.text}"
    assert login.status_code == 200, f"right staff password refused after a box's guesses: {login.text}"
    harm = _harm(fleet, time.time())
    assert not harm, harm


def test_a_flood_is_bounded_to_the_flooding_device(fleet: Fleet) -> None:
    dev = fleet.hostile.device_id
    before = fleet.metrics()
    progress_before = {d.device_id: d.last_acked_seq() for d in fleet.honest}
    start = time.time()
    pad = {f"p{i}": "x" * 4000 for i in range(14)}  # ~56 KiB, inside every field bound
    big = [
        (Channel.EVENT, encode(make(dev, Event(name="flood.pad", detail=pad))))
        for _ in range(FLOOD_BIG_EVENTS)
    ]
    sent = flood(
        fleet.lab, fleet.hostile, telemetry_flood(dev, FLOOD_MESSAGES, FLOOD_FIRST_SEQ) + big, deadline_s=90
    )
    dropped = [oversized(fleet.lab, fleet.hostile, 70_000) for _ in range(3)]
    mark = time.time()
    wait_until(
        lambda: all(d.last_acked_seq() > progress_before[d.device_id] for d in fleet.honest),
        timeout=30,
        message="honest devices still publishing during and after the flood",
    )
    harm = _harm(fleet, mark)
    after = fleet.metrics()
    limited = counted(before, after, "rate_limited")
    quarantined = counted(before, after, "devices_quarantined")
    admitted = len([s for _, s in fleet.tsdb.seq_samples(dev) if s >= FLOOD_FIRST_SEQ])
    bound = MESSAGE_BURST + MESSAGES_PER_S * (mark - start + 5)  # the bucket, refilled while it ran
    assert all(dropped), f"the broker accepted a payload over its 64 KiB limit: {dropped}"
    assert admitted <= bound, f"{admitted} flood samples stored; the device budget allows {bound:.0f}"
    assert quarantined >= 1, f"flooding device not quarantined (no staff event); grew {grown(before, after)}"
    assert limited > 0, (
        f"flood of {sent.sent} messages ({sent.acked} acknowledged) from one device was not throttled or "
        f"counted by a budget reason; counters grew {grown(before, after)}"
    )
    assert not harm, harm


def test_after_every_attack_each_honest_sample_is_stored_exactly_once_in_order(fleet: Fleet) -> None:
    harm = _harm(fleet, time.time())  # presence current and every device listed while they still run
    sent = {d.device_id: d.stop() for d in fleet.honest}
    missing = {d: _check_device(fleet, [(ts, seq) for seq, ts in r.acked], d) for d, r in sent.items()}
    missing.update({a.device_id: _check_agent(fleet, a) for a in fleet.agents})
    missing = {d: why for d, why in missing.items() if why}
    not_ready = fleet.not_ready_since(fleet.started_at)
    totals = rejects(fleet.metrics())
    summary = fleet.readyz.summary(fleet.started_at)
    kicked = {d: r.disconnects for d, r in sent.items() if r.disconnects}
    assert not missing, (
        f"honest samples not stored exactly once in order: {missing}; /readyz answers {summary}"
    )
    assert not not_ready, f"/readyz not 200 during the run: {not_ready[:5]} ({len(not_ready)}); {summary}"
    assert sum(totals.values()) >= len(_sent_bad), f"{len(_sent_bad)} bad messages, rejects {totals}"
    assert not kicked, f"honest devices were disconnected: {kicked}"
    assert not harm, harm


def _check_device(fleet: Fleet, expected: list[tuple[int, int]], device_id: str) -> str:
    """Empty when the TSDB holds exactly ``expected`` (ts, seq) for the device, else what differs."""
    try:
        wait_until(partial(_stored_is, fleet, device_id, expected), timeout=60, interval=0.5)
    except AssertionError:
        return _diff(expected, fleet.tsdb.seq_samples(device_id))
    return ""


def _stored_is(fleet: Fleet, device_id: str, expected: list[tuple[int, int]]) -> bool:
    return fleet.tsdb.seq_samples(device_id) == expected


def _check_agent(fleet: Fleet, agent: RealAgent) -> str:
    """A real agent numbers from 1 and resends from its outbox: seq 1..n by time, each once."""
    numbered = agent.numbered()
    with contextlib.suppress(AssertionError):
        wait_until(partial(fleet._stored_up_to, agent.device_id, numbered), timeout=60, interval=0.5)
    seqs = [seq for _, seq in fleet.tsdb.seq_samples(agent.device_id)]
    if seqs != list(range(1, len(seqs) + 1)) or len(seqs) < numbered:
        return f"real agent numbered {numbered}; stored {_diff_seqs(seqs)}"
    return ""


def _diff(expected: list[tuple[int, int]], stored: list[tuple[int, int]]) -> str:
    exp, got = set(expected), set(stored)
    lost, extra = sorted(exp - got), sorted(got - exp)
    return (
        f"sent {len(expected)}, stored {len(stored)}, lost {len(lost)} {lost[:3]}, "
        f"extra {len(extra)} {extra[:3]}"
    )


def _diff_seqs(seqs: list[int]) -> str:
    dupes = len(seqs) - len(set(seqs))
    gaps = sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs))
    return f"{len(seqs)} samples, {dupes} duplicates, gaps {gaps[:5]}, out of order {seqs != sorted(seqs)}"
