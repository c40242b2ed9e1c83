"""Variant choice by measured throughput, the rule of hls.js (EWMA throughput x factor vs BANDWIDTH).

Each segment download is a throughput sample ``8 x bytes / download time``, weighted by the segment's
duration, into two exponentially weighted averages (half-lives 3 s and 9 s of media, hls.js
``abrEwmaFastLive``/``abrEwmaSlowLive``); the estimate is the lower of the two, so a drop is seen fast
and a rise slowly. The chosen variant is the highest whose BANDWIDTH fits the estimate: staying on the
current one needs BANDWIDTH <= estimate x 0.95 (``abrBandWidthFactor``), switching up needs
BANDWIDTH <= estimate x 0.7 (``abrBandWidthUpFactor``; ExoPlayer's ``bandwidthFraction`` is 0.7 too).
Before the first sample the lowest variant is chosen (a cautious start, as ExoPlayer's default
estimate on slow networks). The 0.7 factor is also the link share: in steady state the probe asks for
at most 70 % of what it measured, and never for more than ``max_bitrate_bps``.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

from .playlist import Variant
from .settings import ProbeSettings


class Ewma:
    """hls.js EWMA: ``alpha = exp(ln(0.5) / half_life)`` per second of media."""

    def __init__(self, half_life_s: float) -> None:
        self._alpha = math.exp(math.log(0.5) / half_life_s)
        self._estimate = 0.0
        self._total_weight = 0.0

    def sample(self, weight_s: float, value: float) -> None:
        adjusted = self._alpha**weight_s
        self._estimate = value * (1 - adjusted) + adjusted * self._estimate
        self._total_weight += weight_s

    def value(self) -> float:
        # Zero-bias correction (hls.js getEstimate): early samples are not pulled towards 0.
        zero_factor = 1 - self._alpha**self._total_weight
        return self._estimate / zero_factor if zero_factor > 0 else 0.0


class ThroughputEstimator:
    def __init__(self, settings: ProbeSettings) -> None:
        self._fast = Ewma(settings.ewma_fast_s)
        self._slow = Ewma(settings.ewma_slow_s)
        self.samples = 0

    def sample(self, *, size_bytes: int, elapsed_s: float, duration_s: float) -> float:
        """Add one download; returns its throughput in bit/s."""
        bps = size_bytes * 8.0 / max(elapsed_s, 1e-3)
        weight = max(duration_s, 0.1)
        self._fast.sample(weight, bps)
        self._slow.sample(weight, bps)
        self.samples += 1
        return bps

    def estimate_bps(self) -> Optional[float]:
        return min(self._fast.value(), self._slow.value()) if self.samples else None


def choose(
    variants: Sequence[Variant], current: Optional[Variant], estimate_bps: Optional[float], s: ProbeSettings
) -> Variant:
    """The variant for the next segment (``variants`` sorted by BANDWIDTH, not empty)."""
    allowed = [v for v in variants if v.bandwidth <= s.max_bitrate_bps] or [variants[0]]
    if estimate_bps is None:
        return allowed[0]
    best = allowed[0]
    for variant in allowed:
        factor = (
            s.down_factor if current is not None and variant.bandwidth <= current.bandwidth else s.up_factor
        )
        if variant.bandwidth <= estimate_bps * factor:
            best = variant
    return best
