"""Small multi-dicts for headers and query strings (stand-ins for the multidict package).

:class:`MultiDict` keeps every (key, value) pair in order; :class:`CIMultiDict`
compares keys case-insensitively and keeps the original spelling. Both are
linear scans over a list, which is the fastest layout for the dozen headers a
response carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

_MISSING: Any = object()


class MultiDict:
    """An ordered multi-valued mapping: ``d[k]`` is the first value, ``getall(k)`` every one."""

    __slots__ = ("_items",)

    @staticmethod
    def _key(key: str) -> str:
        return key

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._items: list[tuple[str, str, Any]] = []
        if args or kwargs:
            self.extend(*args, **kwargs)

    # --- building -------------------------------------------------------------------
    def add(self, key: str, value: Any) -> None:
        self._items.append((self._key(key), key, value))

    def extend(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > 1:
            raise TypeError(f"extend takes at most 1 positional argument ({len(args)} given)")
        if args:
            arg = args[0]
            if isinstance(arg, MultiDict):
                items: Iterable = arg.items()
            elif isinstance(arg, Mapping):
                items = arg.items()
            elif hasattr(arg, "items") and callable(arg.items):
                items = arg.items()
            else:
                items = arg
            for k, v in items:
                self.add(k, v)
        for k, v in kwargs.items():
            self.add(k, v)

    def __setitem__(self, key: str, value: Any) -> None:
        ik = self._key(key)
        new: list[tuple[str, str, Any]] = []
        done = False
        for item in self._items:
            if item[0] != ik:
                new.append(item)
            elif not done:
                new.append((ik, key, value))
                done = True
        if not done:
            new.append((ik, key, value))
        self._items = new

    def setdefault(self, key: str, default: Any = None) -> Any:
        ik = self._key(key)
        for item in self._items:
            if item[0] == ik:
                return item[2]
        self._items.append((ik, key, default))
        return default

    def __delitem__(self, key: str) -> None:
        ik = self._key(key)
        new = [it for it in self._items if it[0] != ik]
        if len(new) == len(self._items):
            raise KeyError(key)
        self._items = new

    def popall(self, key: str, default: Any = _MISSING) -> list:
        ik = self._key(key)
        found = [it[2] for it in self._items if it[0] == ik]
        if not found:
            if default is _MISSING:
                raise KeyError(key)
            return default
        self._items = [it for it in self._items if it[0] != ik]
        return found

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        ik = self._key(key)
        for i, item in enumerate(self._items):
            if item[0] == ik:
                del self._items[i]
                return item[2]
        if default is _MISSING:
            raise KeyError(key)
        return default

    popone = pop

    def clear(self) -> None:
        self._items.clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Replace the values of the given keys (each key given once keeps one value)."""
        other = type(self)(*args, **kwargs)
        for k in dict.fromkeys(it[0] for it in other._items):
            self._items = [it for it in self._items if it[0] != k]
        self._items.extend(other._items)

    def copy(self) -> MultiDict:
        new = type(self).__new__(type(self))
        new._items = list(self._items)
        return new

    # --- reading --------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        ik = self._key(key)
        for item in self._items:
            if item[0] == ik:
                return item[2]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        ik = self._key(key)
        for item in self._items:
            if item[0] == ik:
                return item[2]
        return default

    getone = __getitem__

    def getall(self, key: str, default: Any = _MISSING) -> list:
        ik = self._key(key)
        found = [it[2] for it in self._items if it[0] == ik]
        if not found:
            if default is _MISSING:
                raise KeyError(key)
            return default
        return found

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        ik = self._key(key)
        for item in self._items:
            if item[0] == ik:
                return True
        return False

    def __iter__(self) -> Iterator[str]:
        return (it[1] for it in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return [it[1] for it in self._items]

    def values(self) -> list:
        return [it[2] for it in self._items]

    def items(self) -> list[tuple[str, Any]]:
        return [(it[1], it[2]) for it in self._items]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MultiDict):
            return [(i[0], i[2]) for i in self._items] == [(i[0], i[2]) for i in other._items]
        if isinstance(other, Mapping):
            return len(self) == len(other) and all(
                k in self and self[k] == v for k, v in other.items()
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        body = ", ".join(f"{k!r}: {v!r}" for k, v in self.items())
        return f"<{type(self).__name__}({body})>"


Mapping.register(MultiDict)


class CIMultiDict(MultiDict):
    """A :class:`MultiDict` whose keys compare case-insensitively (HTTP headers)."""

    __slots__ = ()

    @staticmethod
    def _key(key: str) -> str:
        return key.lower()


class CIMultiDictProxy(CIMultiDict):
    """A read-only view of headers (response headers)."""

    __slots__ = ()

    def __init__(self, source: Any = None) -> None:
        if isinstance(source, MultiDict):
            self._items = list(source._items)
        else:
            self._items = []
            if source is not None:
                for k, v in source:
                    self._items.append((k.lower(), k, v))

    @classmethod
    def _from_raw(cls, items: list) -> CIMultiDictProxy:
        new = cls.__new__(cls)
        new._items = items
        return new

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("response headers are read-only; copy them with .copy() or CIMultiDict()")

    add = extend = __setitem__ = __delitem__ = setdefault = _readonly  # type: ignore[assignment]
    popall = pop = popone = clear = update = _readonly  # type: ignore[assignment]

    def copy(self) -> CIMultiDict:
        new = CIMultiDict()
        new._items = list(self._items)
        return new


__all__ = ["CIMultiDict", "CIMultiDictProxy", "MultiDict"]
