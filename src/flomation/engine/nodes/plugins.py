"""Loading plugins from an entry-point group, shared by the node-type and connection-type
registries: a broken plugin, or one whose name is taken, is logged and skipped, never fatal."""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Iterator
from importlib.metadata import entry_points
from typing import TypeVar

__all__ = ["load_plugins"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def load_plugins(
    group: str,
    what: str,
    convert: Callable[[object, str], T],
    name_of: Callable[[T], str],
    taken: Container[str],
) -> Iterator[T]:
    """The plugins of `group` that load, that `convert` accepts (it raises with the reason
    otherwise; it gets the loaded object and the entry point's value) and whose name is not in
    `taken`. `what` names them in the log ("node type", "connection type")."""
    for entry_point in entry_points(group=group):
        try:
            plugin = convert(entry_point.load(), entry_point.value)
        except Exception as exc:
            logger.warning("skipping %s plugin %s: %s", what, entry_point.name, exc)
            continue
        name = name_of(plugin)
        if name in taken:
            logger.warning(
                "skipping %s plugin %s: type %r is already registered",
                what,
                entry_point.name,
                name,
            )
            continue
        yield plugin
