"""The per-process copies of definitions stay within their count and byte bounds."""

from __future__ import annotations

from flomation.sized_lru import SizedLRU


def _copies(**bounds: int) -> SizedLRU[tuple[str, str], str]:
    settings = {"max_entries": 3, "max_bytes": 100, "max_entry_bytes": 50, **bounds}
    return SizedLRU[tuple[str, str], str](**settings)


def test_the_least_recently_used_copy_goes_first_when_the_count_is_reached() -> None:
    copies = _copies()
    for name in ("a", "b", "c"):
        copies.put(("org", name), name, 1)
    assert copies.get(("org", "a")) == "a"  # now the most recently used
    copies.put(("org", "d"), "d", 1)
    assert copies.get(("org", "b")) is None
    assert [copies.get(("org", n)) for n in ("a", "c", "d")] == ["a", "c", "d"]
    assert len(copies) == 3


def test_copies_are_dropped_until_their_bytes_fit() -> None:
    copies = _copies()
    copies.put(("org", "a"), "a", 40)
    copies.put(("org", "b"), "b", 40)
    copies.put(("org", "c"), "c", 40)
    assert copies.get(("org", "a")) is None
    assert copies.size_bytes == 80


def test_a_definition_too_large_to_hold_is_not_kept_and_replaces_nothing_stale() -> None:
    copies = _copies()
    copies.put(("org", "a"), "small", 10)
    copies.put(("org", "a"), "huge", 51)
    assert copies.get(("org", "a")) is None  # not the stale small copy either
    assert (len(copies), copies.size_bytes) == (0, 0)


def test_forgetting_a_copy_gives_its_bytes_back() -> None:
    copies = _copies()
    copies.put(("org", "a"), "a", 30)
    copies.put(("org", "a"), "a2", 20)
    assert copies.size_bytes == 20
    copies.forget(("org", "a"))
    copies.forget(("org", "never"))
    assert (len(copies), copies.size_bytes) == (0, 0)
