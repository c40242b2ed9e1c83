"""Thresholds (over finished devices, with a minimum sample) and retries with backoff per failure type."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..errors import InvalidInput

Decision = Literal["continue", "next_wave", "pause", "abort", "done"]
MAX_RETRIES = 10  # AWS IoT Jobs' numberOfRetries range is 0-10


@dataclass(frozen=True)
class Thresholds:
    """``success_pct`` of a wave's devices succeeded → ``on_success``; failures above ``error_pct`` of
    the *finished* devices (once ``min_sample`` finished, or every started device has) → ``on_error``."""

    success_pct: float = 95.0
    error_pct: float = 10.0
    min_sample: int = 10
    on_success: Literal["next", "pause"] = "next"
    on_error: Literal["pause", "abort"] = "pause"

    def __post_init__(self) -> None:
        if not (0 < self.success_pct <= 100 and 0 <= self.error_pct < 100 and self.min_sample >= 1):
            raise InvalidInput("thresholds: success_pct in (0,100], error_pct in [0,100), min_sample >= 1")


@dataclass(frozen=True)
class Tally:
    """Device counts by state for a set of devices (a wave, or every admitted wave)."""

    succeeded: int = 0
    failed: int = 0
    active: int = 0  # running or waiting for a retry
    pending: int = 0

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    @property
    def total(self) -> int:
        return self.finished + self.active + self.pending


def error_tripped(thresholds: Thresholds, admitted: Tally) -> bool:
    """Too many failures among finished devices, over a large enough sample."""
    if admitted.failed == 0 or admitted.finished == 0:
        return False
    complete = admitted.active == 0 and admitted.pending == 0
    if admitted.finished < thresholds.min_sample and not complete:
        return False
    return admitted.failed * 100.0 / admitted.finished > thresholds.error_pct


def evaluate(thresholds: Thresholds, *, wave: Tally, admitted: Tally, last_wave: bool) -> Decision:
    """What the campaign does next, given the current wave and everything admitted so far."""
    if error_tripped(thresholds, admitted):
        return "abort" if thresholds.on_error == "abort" else "pause"
    wave_done = wave.total == 0 or wave.succeeded * 100.0 >= thresholds.success_pct * wave.total
    if wave.active == 0 and wave.pending == 0:
        wave_done = True  # everyone answered and the error threshold held
    if not wave_done:
        return "continue"
    if last_wave:
        return "done" if wave.active == 0 and wave.pending == 0 else "continue"
    return "pause" if thresholds.on_success == "pause" else "next_wave"


@dataclass(frozen=True)
class RetryRule:
    retries: int
    backoff_s: float
    factor: float = 2.0
    max_backoff_s: float = 6 * 3600.0


DEFAULT_RETRIES: Mapping[str, RetryRule] = {
    # Reasons from docs/content.md §4 (content.failed) plus the campaign's own command failures.
    "http_error": RetryRule(5, 300.0),  # flaky village links: try again soon, then back off
    "stalled": RetryRule(5, 300.0),
    "io_error": RetryRule(2, 600.0),
    "command_expired": RetryRule(5, 900.0),  # the device was offline past the command's expiry
    "command_failed": RetryRule(2, 900.0),
    "command_timeout": RetryRule(3, 900.0),
    "deadline": RetryRule(3, 900.0),
    "disk_space": RetryRule(2, 6 * 3600.0),  # someone has to free space first
    "not_found": RetryRule(1, 900.0),  # a 404 is retried once, never in a loop
    "bad_signature": RetryRule(0, 0.0),  # an untrusted manifest does not become trusted by retrying
    "unknown_signer": RetryRule(0, 0.0),
    "manifest_invalid": RetryRule(0, 0.0),
    "downgrade": RetryRule(0, 0.0),
    "budget_exceeded": RetryRule(0, 0.0),  # never fall back to a bigger download
    "command_rejected": RetryRule(0, 0.0),
    "start_failed": RetryRule(0, 0.0),
    "other": RetryRule(2, 600.0),
}


@dataclass(frozen=True)
class RetryPolicy:
    rules: Mapping[str, RetryRule] = field(default_factory=lambda: dict(DEFAULT_RETRIES))

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Mapping[str, float]]) -> RetryPolicy:
        rules = dict(DEFAULT_RETRIES)
        for failure, values in overrides.items():
            base = rules.get(failure, DEFAULT_RETRIES["other"])
            rule = RetryRule(
                int(values.get("retries", base.retries)),
                float(values.get("backoff_s", base.backoff_s)),
                float(values.get("factor", base.factor)),
            )
            if not 0 <= rule.retries <= MAX_RETRIES or rule.backoff_s < 0 or rule.factor < 1:
                raise InvalidInput(
                    f"retry rule {failure!r}: retries 0-{MAX_RETRIES}, backoff_s >= 0, factor >= 1"
                )
            rules[failure] = rule
        return cls(rules)

    def rule(self, failure_type: str) -> RetryRule:
        return self.rules.get(failure_type) or self.rules.get("other") or DEFAULT_RETRIES["other"]

    def next_delay(self, failure_type: str, failures: int, device_id: str) -> float | None:
        """Seconds to wait before attempt ``failures + 1``, or None when retries are used up.

        ``failures`` counts earlier failures of this type (1 after the first). Jitter (±20 %) is derived
        from the device id so thousands of devices failing together do not retry together.
        """
        rule = self.rule(failure_type)
        if failures > rule.retries:
            return None
        delay = min(rule.max_backoff_s, rule.backoff_s * rule.factor ** (failures - 1))
        spread = int.from_bytes(
            hashlib.blake2b(f"{device_id}:{failures}".encode(), digest_size=2).digest(), "big"
        )
        return delay * (0.8 + 0.4 * spread / 65535.0)
