"""Alertmanager's webhook body (version 4), bounded, and the alerts API's own shapes.

Everything Alertmanager sends is checked before use: at most MAX_ALERTS alerts, MAX_LABELS labels per
set, keys and values of bounded length and no control characters in keys; anything else is a 422.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_ALERTS = 500
MAX_LABELS = 64
MAX_KEY = 128
MAX_VALUE = 4096
LABEL_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _bounded_map(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_LABELS:
        raise ValueError(f"more than {MAX_LABELS} entries")
    for key, item in value.items():
        if len(key) > MAX_KEY or not LABEL_KEY.fullmatch(key):
            raise ValueError(f"bad label name {key[:40]!r}")
        if len(item) > MAX_VALUE:
            raise ValueError(f"value of {key} longer than {MAX_VALUE} characters")
    return value


LabelMap = Annotated[dict[str, str], AfterValidator(_bounded_map)]


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: LabelMap
    annotations: LabelMap = {}
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = Field(default="", max_length=2048)  # noqa: N815
    fingerprint: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-fA-F]+$")


class WebhookBody(BaseModel):
    """What Alertmanager's webhook_config POSTs (one notification of one group)."""

    model_config = ConfigDict(extra="ignore")

    version: str = Field(default="4", max_length=8)
    groupKey: str = Field(default="", max_length=4096)  # noqa: N815
    truncatedAlerts: int = Field(default=0, ge=0)  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str = Field(default="", max_length=256)
    groupLabels: LabelMap = {}  # noqa: N815
    commonLabels: LabelMap = {}  # noqa: N815
    commonAnnotations: LabelMap = {}  # noqa: N815
    externalURL: str = Field(default="", max_length=2048)  # noqa: N815
    alerts: list[WebhookAlert] = Field(max_length=MAX_ALERTS)


class AlertOut(BaseModel):
    id: int
    fingerprint: str
    alertname: str
    severity: str
    status: str
    device: str | None
    station_code: str | None
    region_path: str | None
    summary: str
    labels: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    silenced: bool = False


class AlertPage(BaseModel):
    items: list[AlertOut]
    firing: int
    resolved: int


class MaintenanceIn(BaseModel):
    """A maintenance window: exactly one of station (code) or region (path), for ``hours`` from now."""

    station: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=512)
    hours: float = Field(default=2.0, gt=0, le=24 * 14)
    comment: str = Field(default="", max_length=500)


class MaintenanceOut(BaseModel):
    id: str
    target: str
    devices: list[str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str
