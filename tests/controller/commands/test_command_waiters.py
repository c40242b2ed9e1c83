"""ResultWaiters: wake-ups reach only the waiters of that command and registrations are cleaned up."""

from __future__ import annotations

import threading

from station_controller.commands.waiters import ResultWaiters


def test_notify_wakes_only_the_matching_command() -> None:
    waiters = ResultWaiters()
    with waiters.expect("a") as a, waiters.expect("b") as b, waiters.expect("a") as a2:
        waiters.notify("a")
        assert a.is_set()
        assert a2.is_set()
        assert not b.is_set()
    assert len(waiters) == 0
    waiters.notify("a")  # nobody waits: no error


def test_notify_from_another_thread_releases_a_waiter() -> None:
    waiters = ResultWaiters()
    with waiters.expect("cmd") as done:
        threading.Thread(target=waiters.notify_many, args=(["x", "cmd"],)).start()
        assert done.wait(30)
