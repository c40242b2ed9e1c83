"""Wave plans: canary stations first, then growing cumulative percentages or an exponential ramp."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidInput

MAX_WAVES = 50


@dataclass(frozen=True)
class WavePlan:
    """``percentages`` are cumulative shares of the non-canary targets, e.g. (5, 25, 100).

    With ``exponential_base`` set instead, wave k holds ``base * factor**k`` devices until all are in.
    """

    canary: tuple[str, ...] = ()
    percentages: tuple[float, ...] = (100.0,)
    exponential_base: int | None = None
    exponential_factor: float = 2.0

    def __post_init__(self) -> None:
        if self.exponential_base is not None:
            if self.exponential_base < 1 or self.exponential_factor < 1.0:
                raise InvalidInput("exponential waves need base >= 1 and factor >= 1.0")
            return
        steps = list(self.percentages)
        if not steps or any(not 0 < p <= 100 for p in steps) or steps != sorted(steps):
            raise InvalidInput("wave percentages must rise within (0, 100], e.g. [5, 25, 100]")
        if len(steps) > MAX_WAVES:
            raise InvalidInput(f"at most {MAX_WAVES} waves")

    @property
    def has_canary(self) -> bool:
        return bool(self.canary)


def order_key(campaign_id: int, device_id: str) -> str:
    """A stable pseudo-random order per campaign, so waves are a spread sample, not the first ids."""
    return hashlib.blake2b(f"{campaign_id}:{device_id}".encode(), digest_size=8).hexdigest()


def cumulative_sizes(plan: WavePlan, total: int) -> list[int]:
    """How many non-canary devices are in waves up to and including each wave (last == total)."""
    if total <= 0:
        return []
    sizes: list[int] = []
    if plan.exponential_base is not None:
        size, count = float(plan.exponential_base), 0
        while count < total and len(sizes) < MAX_WAVES - 1:
            count = min(total, count + max(1, int(size)))
            sizes.append(count)
            size *= plan.exponential_factor
    else:
        for pct in plan.percentages:
            count = min(total, max(1, math.ceil(total * pct / 100.0)))
            if not sizes or count > sizes[-1]:
                sizes.append(count)
    if not sizes or sizes[-1] < total:
        sizes.append(total)
    return sizes


def assign_waves(plan: WavePlan, campaign_id: int, devices: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Wave per device id, from ``(device_id, station_code)`` pairs; canary stations are wave 0."""
    canary = set(plan.canary)
    first = 1 if plan.has_canary else 0
    waves = {dev: 0 for dev, station in devices if station in canary}
    rest = sorted(
        (dev for dev, station in devices if station not in canary), key=lambda d: order_key(campaign_id, d)
    )
    start = 0
    for index, end in enumerate(cumulative_sizes(plan, len(rest))):
        for dev in rest[start:end]:
            waves[dev] = first + index
        start = end
    return waves


def join_wave(plan: WavePlan, current_wave: int, station_code: str) -> int:
    """The wave of a device that appears after the start: canary stations → 0, others → the current
    wave, but never the canary wave (late devices must not widen an unfinished canary)."""
    if station_code in plan.canary:
        return 0
    return max(current_wave, 1 if plan.has_canary else 0)
