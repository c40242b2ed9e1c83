"""Staff login limits: a growing delay per (account, source), and per source across all accounts.

A wrong password never locks an account: it only slows down the source it came from, so the
holder's correct password from anywhere else is always accepted. The per-source budget is larger
and stops one source from spraying guesses over many accounts.
"""

from __future__ import annotations

from ..api.ratelimit import BackoffLimiter
from ..settings import Settings


class LoginThrottle:
    """Checked before the password (a delayed source is refused unheard), told each outcome after."""

    def __init__(self, *, per_account_source: BackoffLimiter, per_source: BackoffLimiter) -> None:
        self._pairs = per_account_source
        self._sources = per_source

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        def limiter(free: int) -> BackoffLimiter:
            return BackoffLimiter(
                free=free,
                base_s=settings.auth_backoff_base_s,
                max_s=settings.auth_backoff_max_s,
                memory_s=settings.auth_failure_memory_s,
            )

        return cls(
            per_account_source=limiter(settings.login_attempts_per_minute),
            per_source=limiter(settings.login_failures_per_source),
        )

    def check(self, username: str, source: str) -> None:
        """Raise RateLimited while this account is delayed for this source, or the source for all."""
        self._pairs.check(_pair(username, source))
        self._sources.check(_source(source))

    def failed(self, username: str, source: str) -> None:
        self._pairs.failed(_pair(username, source))
        self._sources.failed(_source(source))

    def succeeded(self, username: str, source: str) -> None:
        """The holder got in from ``source``: forget this pair's failures (not the source's)."""
        self._pairs.reset(_pair(username, source))


def _pair(username: str, source: str) -> str:
    return f"user:{username}\x00ip:{source}"


def _source(source: str) -> str:
    return f"ip:{source}"
