"""Scheduler behaviour step by step with a fake clock: waves, canary pause, restart, late joiners, cancel."""

from __future__ import annotations

from station_controller.campaigns import service
from station_controller.campaigns.models import CampaignDevice
from tests.controller.campaigns.conftest import REGION, Fleet

CANARY_THEN_HALVES = {"canary": ["S0001"], "percentages": [50, 100]}


def test_a_failing_canary_pauses_the_campaign_before_wave_two(fleet: Fleet) -> None:
    devices = fleet.add_stations(11)
    cid = fleet.start(waves=CANARY_THEN_HALVES)
    scheduler = fleet.scheduler()
    scheduler.step()
    assert fleet.payload.starts == [(devices[0], fleet.device(cid, devices[0]).job_id)]
    fleet.report(devices[0], "fake.failed", campaign=cid, reason="bad_signature", retryable=False)
    scheduler.step()
    campaign = fleet.campaign(cid)
    assert campaign.state == "paused"
    assert "error threshold" in (campaign.reason or "")
    scheduler.step()
    assert len(fleet.payload.starts) == 1  # nobody in wave 1 or 2 was started
    assert set(fleet.states(cid).values()) == {"failed", "pending"}


def test_a_successful_canary_opens_the_next_waves_in_order(fleet: Fleet) -> None:
    devices = fleet.add_stations(11)
    cid = fleet.start(waves=CANARY_THEN_HALVES)
    scheduler = fleet.scheduler()
    scheduler.step()
    fleet.report(devices[0], "fake.done", campaign=cid)
    scheduler.step()
    wave1 = [d for d, _ in fleet.payload.starts[1:]]
    assert len(wave1) == 5
    assert {fleet.device(cid, d).wave for d in wave1} == {1}
    for device in wave1:
        fleet.report(device, "fake.done", campaign=cid)
    scheduler.step()
    assert len(fleet.payload.starts) == 11
    for device, _job in fleet.payload.starts[6:]:
        fleet.report(device, "fake.done", campaign=cid)
    scheduler.step()
    assert fleet.campaign(cid).state == "finished"


def test_a_restarted_controller_resumes_without_sending_anything_twice(fleet: Fleet) -> None:
    devices = fleet.add_stations(6)
    cid = fleet.start(waves={"percentages": [50, 100]})
    fleet.scheduler().step()
    first = list(fleet.payload.starts)
    assert len(first) == 3
    sent_before = fleet.command_count()
    restarted = fleet.scheduler()  # the old instance is gone; only the database remains
    restarted.step()
    restarted.step()
    assert fleet.payload.starts == first
    assert fleet.command_count() == sent_before
    for device, _job in first:
        fleet.report(device, "fake.done", campaign=cid)
    fleet.scheduler().step()
    started = [d for d, _ in fleet.payload.starts]
    assert sorted(started) == sorted(devices)
    assert len(started) == len(set(started))


def test_a_start_lost_in_a_crash_is_resent_once_with_the_same_job_id(fleet: Fleet) -> None:
    [device] = fleet.add_stations(1)
    cid = fleet.start()
    with fleet.sessions() as session:  # the controller died after marking the attempt, before sending
        row = session.get(CampaignDevice, (cid, device))
        assert row is not None
        row.state, row.job_id, row.attempts = "running", "job-lost-1", 1
        session.commit()
    scheduler = fleet.scheduler()
    scheduler.step()
    scheduler.step()
    assert fleet.payload.starts == [(device, "job-lost-1")]
    assert fleet.commands() == [(device, "fake.start")]


def test_a_device_enrolled_mid_campaign_joins_the_current_wave(fleet: Fleet) -> None:
    fleet.add_stations(4)
    cid = fleet.start(waves={"percentages": [50, 100]})
    scheduler = fleet.scheduler()
    scheduler.step()
    [late] = fleet.add_stations(1)
    fleet.add_stations(1, region="河南省/郑州市")  # outside the target: never joins
    fleet.clock.advance(seconds=fleet.settings.campaign_membership_interval_s + 1)
    report = scheduler.step()
    assert report.joined == 1
    assert fleet.device(cid, late).wave == 0
    assert late in [d for d, _ in fleet.payload.starts]
    assert len(fleet.states(cid)) == 5


def test_a_device_that_comes_online_later_is_started_then(fleet: Fleet) -> None:
    [device] = fleet.add_stations(1, online=False)
    cid = fleet.start()
    scheduler = fleet.scheduler()
    scheduler.step()
    assert fleet.payload.starts == []
    fleet.set_online(device, True)
    scheduler.step()
    assert fleet.states(cid) == {device: "running"}


def test_cancel_sends_a_cancel_command_to_every_running_device(fleet: Fleet) -> None:
    devices = fleet.add_stations(4)
    cid = fleet.start(waves={"percentages": [50, 100]})
    scheduler = fleet.scheduler()
    scheduler.step()
    running = sorted(d for d, state in fleet.states(cid).items() if state == "running")
    with fleet.sessions() as session:
        service.cancel_campaign(session, campaign_id=cid, user="alice", now=fleet.clock())
    report = scheduler.step()
    assert report.cancelled == 2
    assert sorted(d for d, name in fleet.commands("fake.cancel")) == running
    assert set(fleet.states(cid).values()) == {"cancelled"}
    fleet.scheduler().step()  # after a restart nothing is cancelled twice
    assert len(fleet.commands("fake.cancel")) == 2
    assert len(fleet.payload.starts) == 2
    assert set(devices) == set(fleet.states(cid))


def test_pause_stops_new_starts_and_resume_continues(fleet: Fleet) -> None:
    fleet.add_stations(4)
    cid = fleet.start(max_active=2, waves={"percentages": [100]})
    scheduler = fleet.scheduler()
    scheduler.step()
    with fleet.sessions() as session:
        service.pause_campaign(session, campaign_id=cid)
    for device, _job in list(fleet.payload.starts):
        fleet.report(device, "fake.done", campaign=cid)
    scheduler.step()
    assert len(fleet.payload.starts) == 2
    with fleet.sessions() as session:
        service.resume_campaign(session, campaign_id=cid)
    scheduler.step()
    assert len(fleet.payload.starts) == 4


def test_retryable_failures_back_off_and_run_again_with_a_new_job(fleet: Fleet) -> None:
    [device] = fleet.add_stations(1)
    cid = fleet.start(retries={"http_error": {"retries": 2, "backoff_s": 600}})
    scheduler = fleet.scheduler()
    scheduler.step()
    first_job = fleet.device(cid, device).job_id
    fleet.report(device, "fake.failed", campaign=cid, reason="http_error")
    row = fleet.device(cid, device)
    assert (row.state, row.failures) == ("retry_wait", {"http_error": 1})
    scheduler.step()
    assert len(fleet.payload.starts) == 1  # still backing off
    fleet.clock.advance(seconds=721)  # 600 s ± 20 % jitter
    scheduler.step()
    row = fleet.device(cid, device)
    assert (row.state, row.attempts) == ("running", 2)
    assert row.job_id != first_job
    fleet.report(device, "fake.failed", campaign=cid, reason="http_error", job_id=first_job)  # stale
    assert fleet.device(cid, device).state == "running"


def test_retries_run_out_and_permanent_failures_are_not_retried(fleet: Fleet) -> None:
    a, b = fleet.add_stations(2)
    cid = fleet.start(retries={"stalled": {"retries": 1, "backoff_s": 10}}, thresholds={"error_pct": 99})
    scheduler = fleet.scheduler()
    scheduler.step()
    fleet.report(a, "fake.failed", campaign=cid, reason="budget_exceeded")
    assert fleet.device(cid, a).state == "failed"
    fleet.report(b, "fake.failed", campaign=cid, reason="stalled")
    fleet.clock.advance(seconds=60)
    scheduler.step()
    fleet.report(b, "fake.failed", campaign=cid, reason="stalled")
    row = fleet.device(cid, b)
    assert (row.state, row.failures, row.attempts) == ("failed", {"stalled": 2}, 2)


def test_a_device_outside_its_local_window_waits_for_it(fleet: Fleet) -> None:
    [east] = fleet.add_stations(1)
    west_region = REGION + "/西部乡"
    [west] = fleet.add_stations(1, region=west_region)
    fleet.set_timezone(west_region, "Asia/Kathmandu")  # UTC+5:45: 22:45 there at 01:00 Beijing
    cid = fleet.start(schedule={"window_start": "00:30", "window_end": "05:30"})
    scheduler = fleet.scheduler()
    scheduler.step()
    assert [d for d, _ in fleet.payload.starts] == [east]
    opens = fleet.device(cid, west).not_before
    assert opens is not None
    assert opens.replace(tzinfo=None).isoformat() == "2026-05-31T18:45:00"
    fleet.clock.advance(minutes=104)
    scheduler.step()
    assert [d for d, _ in fleet.payload.starts] == [east]
    fleet.clock.advance(minutes=1)
    scheduler.step()
    assert [d for d, _ in fleet.payload.starts] == [east, west]


def test_the_end_date_skips_devices_not_yet_started(fleet: Fleet) -> None:
    fleet.add_stations(3)
    end = fleet.clock() + __import__("datetime").timedelta(hours=2)
    cid = fleet.start(max_active=1, schedule={"ends_at": end.isoformat(), "end_behavior": "cancel"})
    scheduler = fleet.scheduler()
    scheduler.step()
    fleet.clock.advance(hours=3)
    scheduler.step()
    scheduler.step()
    states = sorted(fleet.states(cid).values())
    assert states == ["cancelled", "skipped", "skipped"]
    assert fleet.campaign(cid).state == "finished"
    assert len(fleet.commands("fake.cancel")) == 1


def test_the_origin_cap_is_the_sum_of_running_campaigns_caps(fleet: Fleet) -> None:
    class Limiter:
        def __init__(self) -> None:
            self.rates: list[int] = []

        def set_rate_bps(self, bits_per_s: int) -> None:
            self.rates.append(bits_per_s)

    fleet.add_stations(2)
    limiter = Limiter()
    scheduler = fleet.scheduler()
    scheduler._limiter = limiter  # the same slot runtime.build_scheduler fills with content's limiter
    scheduler.step()
    assert limiter.rates == []  # no campaign: the content setting stays untouched
    cid = fleet.start(rate_cap_bps=20_000_000, device_rate_bps=4_000_000)
    assert fleet.campaign(cid).max_active == 7  # 20/4 × 1.25 overcommit, rounded up
    scheduler.step()
    fleet.start(rate_cap_bps=30_000_000, target={"stations": ["S0001"]})
    scheduler.step()
    assert limiter.rates == [20_000_000, 50_000_000]


def test_the_error_threshold_counts_finished_devices_once_the_minimum_sample_is_in(fleet: Fleet) -> None:
    devices = fleet.add_stations(10)
    cid = fleet.start(thresholds={"error_pct": 20, "min_sample": 5})
    scheduler = fleet.scheduler()
    scheduler.step()
    fleet.report(devices[0], "fake.failed", campaign=cid, reason="budget_exceeded")
    scheduler.step()
    assert fleet.campaign(cid).state == "running"  # 1 of 1 finished failed, but the sample is 1 < 5
    for device in devices[1:4]:
        fleet.report(device, "fake.done", campaign=cid)
    scheduler.step()
    assert fleet.campaign(cid).state == "running"  # 1 of 4: still below the minimum sample
    fleet.report(devices[4], "fake.failed", campaign=cid, reason="budget_exceeded")
    scheduler.step()
    campaign = fleet.campaign(cid)
    assert campaign.state == "paused"  # 2 of 5 finished = 40 % > 20 %
    assert "2 of 5 finished" in (campaign.reason or "")
    with fleet.sessions() as session:  # staff looked, resumed: counting restarts from here
        service.resume_campaign(session, campaign_id=cid, now=fleet.clock())
    fleet.report(devices[5], "fake.done", campaign=cid)
    scheduler.step()
    assert fleet.campaign(cid).state == "running"


def test_an_abort_cancels_what_runs_and_what_waits(fleet: Fleet) -> None:
    devices = fleet.add_stations(4)
    cid = fleet.start(max_active=2, thresholds={"error_pct": 10, "min_sample": 1, "on_error": "abort"})
    scheduler = fleet.scheduler()
    scheduler.step()
    started = [d for d, _ in fleet.payload.starts]
    fleet.report(started[0], "fake.failed", campaign=cid, reason="bad_signature", retryable=False)
    scheduler.step()
    scheduler.step()
    assert fleet.campaign(cid).state == "aborted"
    assert [d for d, _ in fleet.commands("fake.cancel")] == [started[1]]
    assert sorted(fleet.states(cid).values()) == ["cancelled", "cancelled", "cancelled", "failed"]
    assert len(devices) == 4
