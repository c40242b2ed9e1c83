"""The alerts app fixture (station s-001 in 河南省/南阳市, s-002 in 河南省/郑州市, a real Alertmanager)."""

from tests.controller.alerts.conftest import alertmanager, alerts_api, receiver

__all__ = ["alertmanager", "alerts_api", "receiver"]
