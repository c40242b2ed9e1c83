"""Errors of the config service (all are ControllerErrors, mapped to HTTP by the one handler).

ControllerError
 ├── NotFound        404   ConfigNotFound: no such revision, backup or device state
 ├── Conflict        409   DraftClosed: the revision is already published or discarded (start a new draft)
 └── InvalidInput    422   RenderFailed: the template or its variables do not render a valid router config
"""

from __future__ import annotations

from ...errors import Conflict, InvalidInput, NotFound


class ConfigNotFound(NotFound):
    code = "config_not_found"


class DraftClosed(Conflict):
    code = "draft_closed"


class RenderFailed(InvalidInput):
    code = "render_failed"
