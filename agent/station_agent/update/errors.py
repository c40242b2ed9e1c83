"""Update errors (tree under station_agent.errors).

AgentError
 ├── RetryableError
 │    └── DownloadFailed   the server or the link failed; the job retries with backoff, then fails
 └── PermanentError
      ├── InstallFailed    the release would not install or start its smoke test; nothing switched
      └── RaucFailed       RAUC refused or failed the install; the booted slot is unchanged
Refusals of a release are ``station_protocol.firmware.Refused`` (reason reported as-is).
"""

from __future__ import annotations

from ..errors import PermanentError, RetryableError


class DownloadFailed(RetryableError):
    """A file or the manifest could not be fetched; try again later."""


class InstallFailed(PermanentError):
    """The staged slot failed to unpack or to pass its smoke test; the active slot is untouched."""


class RaucFailed(PermanentError):
    """``rauc`` reported an error; the message carries its output."""
