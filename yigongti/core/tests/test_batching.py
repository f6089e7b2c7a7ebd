"""``core.batching``: work collected inside ``coalesced()`` runs once, with every item, at the end."""

from __future__ import annotations

import pytest

from yigongti.core.batching import coalesced, collect


def test_outside_a_block_the_caller_works_at_once():
    runs: list[set[int]] = []
    assert collect("w", {1}, runs.append) is False
    assert runs == []


def test_inside_a_block_items_are_merged_and_the_work_runs_once_at_the_end():
    runs: list[set[int]] = []
    other: list[set[str]] = []
    with coalesced():
        assert collect("w", {1, 2}, runs.append)
        assert collect("w", [2, 3], runs.append)
        assert collect("o", {"a"}, other.append)
        assert runs == [] and other == []
    assert runs == [{1, 2, 3}]
    assert other == [{"a"}]


def test_an_error_in_the_block_skips_the_work():
    runs: list[set[int]] = []
    with pytest.raises(ValueError), coalesced():
        collect("w", {1}, runs.append)
        raise ValueError("the transaction rolls back")
    assert runs == []
    assert collect("w", {1}, runs.append) is False  # the block is closed


def test_a_nested_block_joins_the_outer_one():
    runs: list[set[int]] = []
    with coalesced():
        with coalesced():
            collect("w", {1}, runs.append)
        assert runs == []
        collect("w", {2}, runs.append)
    assert runs == [{1, 2}]


def test_work_run_at_the_end_does_its_own_follow_up_at_once():
    """The end runs outside the collecting state: what the work triggers is not lost."""
    runs: list[str] = []

    def first(items: set[int]) -> None:
        runs.append("first")
        assert collect("second", {1}, lambda _: runs.append("second")) is False

    with coalesced():
        collect("first", {1}, first)
    assert runs == ["first"]
