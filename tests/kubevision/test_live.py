"""GapWatch: how far a follower of status_events may read past ids not yet visible."""

from __future__ import annotations

from kubevision.live import GapWatch


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_consecutive_ids_are_all_readable() -> None:
    watch = GapWatch(grace_s=2, clock=_Clock())

    assert watch.readable(10, [11, 12, 13]) == 3


def test_reading_stops_at_a_fresh_gap() -> None:
    watch = GapWatch(grace_s=2, clock=_Clock())

    assert watch.readable(10, [11, 13, 14]) == 1
    assert watch.readable(11, [13, 14]) == 0


def test_a_gap_that_outlives_the_grace_is_skipped() -> None:
    clock = _Clock()
    watch = GapWatch(grace_s=2, clock=clock)
    watch.readable(10, [12])

    clock.now += 2.5

    assert watch.readable(10, [12, 13]) == 2


def test_a_gap_filled_in_time_delivers_the_late_row_first() -> None:
    clock = _Clock()
    watch = GapWatch(grace_s=2, clock=clock)
    assert watch.readable(10, [12]) == 0

    clock.now += 1

    assert watch.readable(10, [11, 12]) == 2
