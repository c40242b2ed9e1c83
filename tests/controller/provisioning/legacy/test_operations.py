"""Device steps over a recording RouterConnection: config mode or exec, refusals, save, verify, restore."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from station_controller.provisioning.legacy import operations as ops
from station_controller.provisioning.legacy.errors import RouterCommandRejected
from station_controller.provisioning.legacy.profiles import get_profile, intent_from_mapping
from tests.controller.provisioning.legacy.test_profiles import HUAWEI_RUNNING, HUAWEI_VLAN_BRIEF, RENDERED


@dataclass
class RecordingRouter:
    """Answers show commands from a table; records config-mode batches and saves."""

    answers: dict[str, str] = field(default_factory=dict)
    batches: list[list[str]] = field(default_factory=list)
    saves: int = 0
    ran: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)

    def run(self, command: str) -> str:
        self.ran.append(command)
        return self.answers.get(command, "")

    def configure(self, lines: Sequence[str], *, error_pattern: str) -> str:
        # netmiko matches error_pattern against each line's echo and raises; here "bogus" is refused.
        self.batches.append(list(lines))
        self.patterns.append(error_pattern)
        bad = next((line for line in lines if "bogus" in line), None)
        if bad is not None:
            raise RouterCommandRejected(bad, "% Unrecognized command found at '^' position.")
        return ""

    def save(self) -> str:
        self.saves += 1
        return "Save the configuration successfully."

    def close(self) -> None:
        return None


def test_vendor_lines_go_through_config_mode_then_the_native_save() -> None:
    router, profile = RecordingRouter(), get_profile("huawei")
    lines = profile.apply_lines(intent_from_mapping(RENDERED))
    ops.send_lines(router, profile, lines)
    assert router.batches == [lines]
    assert router.saves == 1
    assert router.ran == []


def test_a_refused_vendor_line_stops_before_saving() -> None:
    router = RecordingRouter()
    profile = get_profile("hp_comware")
    with pytest.raises(RouterCommandRejected, match="bogus"):
        ops.send_lines(router, profile, ["vlan 20", "bogus command", "quit"])
    assert router.saves == 0
    assert re.search(router.patterns[0], "% Unrecognized command found at '^' position.")


def test_linux_lines_run_one_by_one_and_a_uci_error_stops_them() -> None:
    router = RecordingRouter(answers={"uci set 'b=2'": "uci: Invalid argument"})
    with pytest.raises(RouterCommandRejected, match="Invalid argument"):
        ops.send_lines(router, get_profile("linux"), ["uci set 'a=1'", "uci set 'b=2'", "uci set 'c=3'"])
    assert router.ran == ["uci set 'a=1'", "uci set 'b=2'"]


def test_verify_reports_missing_lines_and_failed_checks() -> None:
    profile, intent = get_profile("huawei"), intent_from_mapping(RENDERED)
    applied = profile.expected(HUAWEI_RUNNING, intent)
    good = RecordingRouter(answers={profile.show_running: applied, "display vlan brief": HUAWEI_VLAN_BRIEF})
    assert ops.verify(good, profile, intent)[1] == []
    bad = RecordingRouter(answers={profile.show_running: HUAWEI_RUNNING, "display vlan brief": ""})
    _running, problems = ops.verify(bad, profile, intent)
    assert "not in the running config: wlan > ssid-profile name sf-ssid > ssid 王庄村 Free WiFi" in problems
    assert problems[-1] == "VLAN 20 is missing from `display vlan brief`"


def test_restore_sends_the_undo_lines_for_the_backup() -> None:
    profile, intent = get_profile("huawei"), intent_from_mapping(RENDERED)
    router = RecordingRouter(answers={profile.show_running: profile.expected(HUAWEI_RUNNING, intent)})
    ops.restore(router, profile, profile.normalise(HUAWEI_RUNNING), log_line=lambda _line: None)
    (batch,) = router.batches
    assert batch == profile.restore_lines(HUAWEI_RUNNING, profile.expected(HUAWEI_RUNNING, intent))
    assert router.saves == 1
