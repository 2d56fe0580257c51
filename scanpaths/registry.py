"""Registries: one place per kind of component, each name mapped to what builds it.

A :class:`Registry` is a read-only mapping from names to entries (path kinds, presets,
completers, scan strategies), plus *parametrised* names: a prefix that takes an argument after
a colon (``learned:runs/rl/policy.pt``) or a pattern that matches free-form names (a checkpoint
file ``my_generator.pt``). Command-line choices, suite validation, help text and the README's
tables all read the same registry, so a component registered once (by the project or by a user)
shows up everywhere.

>>> colours = Registry("colour")
>>> _ = colours.register("red", (255, 0, 0), help="the colour of a red thing")
>>> colours["red"], "red" in colours, list(colours)
((255, 0, 0), True, ['red'])
>>> colours["blue"]
Traceback (most recent call last):
...
scanpaths.errors.InputError: colour must be one of red; got 'blue'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import InputError

__all__ = ["Registry", "Resolved"]

T = TypeVar("T")


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """A name looked up in a registry: the entry, and the argument a parametrised name carried
    (``None`` for a plain name)."""

    name: str
    value: T
    arg: str | None = None


@dataclass(frozen=True)
class _Param(Generic[T]):
    label: str  # how the choices list shows it, e.g. "learned:FILE" or "FILE.pt"
    matches: Callable[[str], str | None]  # the argument if the name matches, else None
    value: T
    help: str


class Registry(Mapping[str, T]):
    """Names of one kind of component (see the module docstring).

    Args:
        kind: what the names are, for messages ("path kind", "completer", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._help: dict[str, str] = {}
        self._params: list[_Param[T]] = []

    # ------------------------------------------------------------------ registering
    def register(self, name: str, value: T, *, help: str = "", replace: bool = False) -> T:
        """Add ``name``; a name already there is an error unless ``replace``. Returns ``value``."""
        if not isinstance(name, str) or not name or any(c in name for c in " :,"):
            raise ValueError(f"a {self.kind} name must be a non-empty string without spaces, ':' or ','")
        if name in self._items and not replace:
            raise ValueError(f"{self.kind} {name!r} is registered already")
        self._items[name] = value
        self._help[name] = help
        return value

    def register_prefix(self, prefix: str, value: T, *, arg: str = "ARG", help: str = "") -> T:
        """Accept ``PREFIX:ARG`` names (the plain ``PREFIX`` is registered on its own, if at all)."""
        if prefix in (p.label.split(":")[0] for p in self._params):
            raise ValueError(f"{self.kind} prefix {prefix!r} is registered already")

        def matches(name: str) -> str | None:
            head, sep, rest = name.partition(":")
            return rest if sep and head == prefix and rest else None

        self._params.append(_Param(f"{prefix}:{arg}", matches, value, help))
        return value

    def register_pattern(self, label: str, matches: Callable[[str], bool], value: T, *, help: str = "") -> T:
        """Accept every name for which ``matches(name)`` is true (the name is the argument)."""
        self._params.append(_Param(label, lambda name: name if matches(name) else None, value, help))
        return value

    def unregister(self, name: str) -> None:
        """Remove a plain name (for tests and plug-ins that replace a component)."""
        self._items.pop(name)
        self._help.pop(name)

    # ------------------------------------------------------------------ looking up
    def __getitem__(self, name: str) -> T:
        if name in self._items:
            return self._items[name]
        raise InputError(f"{self.kind} must be one of {', '.join(self._items)}; got {name!r}")

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def resolve(self, name: str) -> Resolved[T]:
        """Look a name up, parametrised names included.

        Raises:
            InputError: naming every choice, parametrised forms included.
        """
        if not isinstance(name, str):
            raise InputError(f"{self.kind} names are strings, got {name!r}")
        if name in self._items:
            return Resolved(name, self._items[name])
        for p in self._params:
            arg = p.matches(name)
            if arg is not None:
                return Resolved(name, p.value, arg)
        raise InputError(f"{self.kind} must be one of {', '.join(self.choices())}; got {name!r}")

    def choices(self) -> list[str]:
        """Every plain name, then the parametrised forms (``learned:FILE``, ``FILE.pt``)."""
        return [*self._items, *(p.label for p in self._params)]

    def help(self, name: str) -> str:
        """The one-line help of a plain name or a parametrised form's label."""
        if name in self._help:
            return self._help[name]
        for p in self._params:
            if p.label == name:
                return p.help
        raise InputError(f"{self.kind} must be one of {', '.join(self.choices())}; got {name!r}")

    def table(self) -> list[tuple[str, str]]:
        """``(name, help)`` for every choice, for ``--help`` texts and the README."""
        return [(c, self.help(c)) for c in self.choices()]

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.choices())})"
