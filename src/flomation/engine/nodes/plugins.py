"""What the node-type and connection-type registries share: items by name (built-ins cannot be
replaced unless asked) and plugins loaded from an entry-point group, where a broken plugin, or
one whose name is taken, is logged and skipped, never fatal."""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Iterator
from importlib.metadata import entry_points
from typing import Any, ClassVar, Generic, Protocol, TypeVar

__all__ = ["NamedRegistry", "load_plugins"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _Named(Protocol):
    @property
    def type(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...


N = TypeVar("N", bound=_Named)


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


class NamedRegistry(Generic[N]):
    """Items by their `type` name. Subclasses name their `kind` and check what a plugin
    loaded (`plugin`)."""

    kind: ClassVar[str]

    def __init__(self) -> None:
        self._types: dict[str, N] = {}

    def _put(self, item: N, *, replace: bool = False) -> None:
        if item.type in self._types and not replace:
            raise ValueError(f"{self.kind} {item.type!r} is already registered")
        self._types[item.type] = item

    def plugin(self, loaded: object, value: str) -> N:
        """The item an entry point loaded (`value` names it); TypeError when it is none."""
        raise NotImplementedError

    def get(self, name: str) -> N | None:
        return self._types.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def names(self) -> list[str]:
        return list(self._types)

    def describe(self) -> list[dict[str, Any]]:
        return [item.describe() for item in self._types.values()]

    def load_group(self, group: str) -> None:
        """Adds the plugins of `group`; a broken one is logged and skipped, never fatal."""
        for item in load_plugins(group, self.kind, self.plugin, _type_of, self._types):
            self._types[item.type] = item


def _type_of(item: _Named) -> str:
    return item.type
