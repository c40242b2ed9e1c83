"""API schemas of the TSDB history route."""

from __future__ import annotations

from pydantic import BaseModel


class History(BaseModel):
    """One metric of one device over time; ``points`` are ``[unix seconds, value]`` pairs, oldest first."""

    device_id: str
    metric: str
    range_s: int
    step_s: int
    points: list[tuple[float, float]]
