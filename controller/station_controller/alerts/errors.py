"""Alert errors.

ControllerError
 ├── AlertmanagerUnavailable  503  Alertmanager did not answer or failed (retryable: try again shortly)
 ├── AlertmanagerRejected     422  Alertmanager refused the silence (the message says why)
 ├── PayloadTooLarge          413  a webhook body above alerts_webhook_max_bytes
 └── RelayFailed              502  a DingTalk/WeCom/SMS relay could not deliver (retryable; Alertmanager
                                   retries a failed webhook itself)
"""

from __future__ import annotations

from ..errors import ControllerError


class AlertmanagerUnavailable(ControllerError):
    code = "alertmanager_unavailable"
    status = 503
    retryable = True


class AlertmanagerRejected(ControllerError):
    code = "alertmanager_rejected"
    status = 422


class RelayFailed(ControllerError):
    code = "relay_failed"
    status = 502
    retryable = True


class PayloadTooLarge(ControllerError):
    code = "payload_too_large"
    status = 413
