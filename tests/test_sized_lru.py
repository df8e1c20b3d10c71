"""The per-process copies of definitions stay within their count and byte bounds."""

from __future__ import annotations

from flomation.sized_lru import SizedLRU


def _copies() -> SizedLRU[tuple[str, str], str]:
    return SizedLRU[tuple[str, str], str](max_entries=3, max_bytes=100, max_entry_bytes=50)


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


def test_without_byte_bounds_only_the_count_bounds_the_entries() -> None:
    keys = SizedLRU[str, str](max_entries=2)
    keys.put("a", "1")
    keys.put("b", "2", 10**9)
    keys.put("c", "3")
    assert [keys.get(k) for k in ("a", "b", "c")] == [None, "2", "3"]


def test_an_entry_with_a_time_to_live_is_gone_once_it_has_passed() -> None:
    now = [100.0]
    recent = SizedLRU[str, str](max_entries=10, clock=lambda: now[0])
    recent.put("org", "sets", ttl_s=1.0)
    recent.put("kept", "forever")
    now[0] = 100.9
    assert recent.get("org") == "sets"
    now[0] = 101.0
    assert recent.get("org") is None
    assert len(recent) == 1
    assert recent.get("kept") == "forever"


def test_an_entry_dropped_for_room_is_handed_to_on_evict_and_others_are_not() -> None:
    closed: list[tuple[str, str]] = []
    clients = SizedLRU[str, str](
        max_entries=2, on_evict=lambda key, value: closed.append((key, value))
    )
    clients.put("a", "client a")
    clients.put("b", "client b")
    clients.put("b", "client b2")  # replaced: its owner still holds the old one
    clients.forget("b")
    clients.put("c", "client c")
    clients.put("d", "client d")
    assert closed == [("a", "client a")]
    clients.clear()
    assert (len(clients), clients.size_bytes, closed) == (0, 0, [("a", "client a")])
