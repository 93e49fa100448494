"""The retry loop every wait for a held document uses (django_mongo_backend/lock_waits.py).

A fake clock stands in for ``time``: each pause moves it on by the pause, so the deadline
rule is checked exactly, without sleeping and without timing anything.
"""

from __future__ import annotations

import itertools

import pytest

from django_mongo_backend import lock_waits
from django_mongo_backend.lock_waits import Held, growing_pauses, retry_while_held


class CallerError(Exception):
    """What a caller raises when its wait is over."""


@pytest.fixture
def clock(monkeypatch):
    """A clock at 0 that only sleeping moves on; it records the pauses slept."""
    fake = type("Clock", (), {"now": 0.0, "slept": []})()

    def sleep(seconds):
        fake.slept.append(seconds)
        fake.now += seconds

    # The module's own names, not the time module's: pymongo's monitor threads keep sleeping
    # on the real clock meanwhile (patching time.sleep made them move this one on).
    monkeypatch.setattr(lock_waits, "monotonic", lambda: fake.now)
    monkeypatch.setattr(lock_waits, "sleep", sleep)
    return fake


class Attempts:
    """An attempt held ``held`` times, then answering "done"; records what happened."""

    def __init__(self, held):
        self.left = held
        self.events = []

    def __call__(self):
        self.events.append("try")
        if self.left:
            self.left -= 1
            cause = LookupError(f"conflict {len(self.events)}")
            raise Held(f"detail {len(self.events)}") from cause
        return "done"

    def before_retry(self):
        self.events.append("resume")


def test_the_pauses_double_from_10_ms_and_stop_growing_at_half_a_second():
    pauses = list(itertools.islice(growing_pauses(), 8))
    assert pauses == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.5]


def test_success_after_retries_returns_the_attempts_result(clock):
    attempt = Attempts(held=3)
    result = retry_while_held(
        attempt, deadline=10.0, give_up=CallerError, before_retry=attempt.before_retry
    )
    assert result == "done"
    # each retry: a pause, then the caller's resume, then the next try
    assert attempt.events == ["try", "resume", "try", "resume", "try", "resume", "try"]
    assert clock.slept == [0.01, 0.02, 0.04]


def test_at_the_deadline_the_callers_error_is_raised_from_the_conflicts_cause(clock):
    attempt = Attempts(held=100)
    # 0 + 0.01 and 0.01 + 0.02 end before 0.05; the third pause (0.04) would end at 0.07
    with pytest.raises(CallerError) as raised:
        retry_while_held(
            attempt, deadline=0.05, give_up=CallerError, before_retry=attempt.before_retry
        )
    assert raised.value.args == ("detail 5",)
    assert isinstance(raised.value.__cause__, LookupError)
    assert str(raised.value.__cause__) == "conflict 5"
    # the Held signal itself is not chained into the caller's error
    assert raised.value.__context__ is None
    assert attempt.events == ["try", "resume", "try", "resume", "try"]
    assert clock.slept == [0.01, 0.02]


def test_a_pause_ending_exactly_at_the_deadline_is_not_taken(clock):
    attempt = Attempts(held=100)
    with pytest.raises(CallerError):
        retry_while_held(attempt, deadline=0.01, give_up=CallerError)
    assert clock.slept == []


def test_without_a_deadline_the_first_conflict_gives_up_at_once(clock):
    attempt = Attempts(held=1)
    with pytest.raises(CallerError, match="detail 1"):
        retry_while_held(
            attempt, deadline=None, give_up=CallerError, before_retry=attempt.before_retry
        )
    assert attempt.events == ["try"]
    assert clock.slept == []


def test_a_held_signal_without_detail_or_cause_gives_an_error_without_cause(clock):
    def attempt():
        raise Held

    with pytest.raises(CallerError) as raised:
        retry_while_held(attempt, deadline=None, give_up=CallerError)
    assert raised.value.args == (None,)
    assert raised.value.__cause__ is None


def test_other_errors_of_the_attempt_go_through_untried(clock):
    calls = []

    def attempt():
        calls.append(1)
        raise KeyError("not a conflict")

    with pytest.raises(KeyError, match="not a conflict"):
        retry_while_held(attempt, deadline=10.0, give_up=CallerError)
    assert calls == [1]
    assert clock.slept == []
