"""Writes a batch so that one device's poison item cannot hold back the others' (issue 8).

The one bisection ingest's batch writers share (presence flusher, command results, feature event
handlers); the TSDB writer does the same with its in-flight deque (tsdb/writer.py). A failing batch is
split in halves, depth-first and left first, until each refused item stands alone:

* an outage (``is_outage``: the database or TSDB is down, a ``retryable`` error) stops the write; every
  item not yet written waits, in its original order, for the next attempt: nothing is lost;
* any other error on a single item refuses that item: the caller counts it, logs it with its device and
  acknowledges it, and it is never retried;
* when every item of a batch from more than one device fails alike, the fault is the database's or the
  code's, not a device's: the whole batch is kept for a retry instead of being refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .registry_io import is_outage as is_db_outage

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """An outage worth retrying unchanged: a database outage or any error that says ``retryable``."""
    return is_db_outage(exc) or bool(getattr(exc, "retryable", False))


def reason_of(exc: BaseException) -> str:
    """A bounded label for a refused item: the error's ``reason`` if it has one, else its class name."""
    reason = getattr(exc, "reason", None)
    return reason if isinstance(reason, str) and reason else type(exc).__name__


@dataclass
class Isolated(Generic[T]):
    """What became of a batch: written, refused (each with its error) and kept for a retry."""

    written: list[T] = field(default_factory=list)
    refused: list[tuple[T, Exception]] = field(default_factory=list)
    retry: list[T] = field(default_factory=list)
    error: Exception | None = None  # the outage (or the failure common to all) behind ``retry``


def write_isolating(
    items: Sequence[T],
    write: Callable[[list[T]], None],
    *,
    device_of: Callable[[T], str],
    is_outage: Callable[[BaseException], bool] = is_retryable,
) -> Isolated[T]:
    """Write ``items`` with ``write`` (one call per part, each all-or-nothing), isolating refused ones."""
    out: Isolated[T] = Isolated()
    if not items:
        return out
    indexed = list(enumerate(items))
    done: set[int] = set()
    parts = [indexed]
    while parts:
        part = parts.pop()
        try:
            write([item for _, item in part])
        except Exception as exc:
            if is_outage(exc):
                # Refusals found so far are kept too: the outage may have caused them.
                out.retry = [item for index, item in indexed if index not in done]
                out.refused, out.error = [], exc
                return out
            if len(part) > 1:
                middle = len(part) // 2
                parts += [part[middle:], part[:middle]]
            else:
                out.refused.append((part[0][1], exc))
            continue
        done.update(index for index, _ in part)
        out.written += [item for _, item in part]
    if not out.written and len({device_of(item) for item in items}) > 1:
        out.retry, out.error, out.refused = list(items), out.refused[0][1], []
    return out
