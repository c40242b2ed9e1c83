"""Content sync errors; ``reason`` is the wire tag of ``content.failed`` (docs/content.md §4).

AgentError (station_agent.errors)
 └── SyncFailed                  the job stops; ``retryable`` tells the campaign whether to send it again
      ├── ManifestRejected       bad_signature / unknown_signer / manifest_invalid / downgrade (permanent)
      ├── BudgetExceeded         the job would pass its byte budget (permanent for this job)
      └── TransferFailed         not_found / stalled / http_error / hash_mismatch (after bounded retries)
SyncInterrupted                  not an error: stop requested, job cancelled or superseded
"""

from __future__ import annotations

from ..errors import AgentError


class SyncFailed(AgentError):
    def __init__(self, reason: str, detail: str, *, retryable: bool = False) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.retryable = retryable


class ManifestRejected(SyncFailed):
    pass


class BudgetExceeded(SyncFailed):
    def __init__(self, detail: str) -> None:
        super().__init__("budget_exceeded", detail)


class TransferFailed(SyncFailed):
    pass


class SyncInterrupted(Exception):
    """The transfer thread stops early; ``reason`` is stop / cancelled / superseded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
