"""Convert frozen dataclasses to JSON-ready values and back, driven by their type hints.

Used by the snapshot and the report envelope so that every on-disk format is produced by one
mechanism. Supported field types: dataclasses, `tuple[X, ...]`, `X | None`, `dict[str, X]`,
`Mapping[str, X]`, `datetime` (ISO-8601, UTC), enums, str, int, float, bool.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

T = TypeVar("T")


class DecodeError(ValueError):
    """Raised when a JSON value does not fit the type it should decode to."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def encode(value: Any) -> Any:
    """Return a JSON-serialisable form of `value` (dataclasses become dicts, datetimes strings)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: encode(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        return [encode(v) for v in value]
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(cls: type[T], data: Any, path: str = "$") -> T:
    """Build an instance of `cls` from JSON data, checking every field's type."""
    return typing.cast(T, _decode(cls, data, path))


def format_time(value: datetime) -> str:
    """ISO-8601 in UTC with a `Z`, to the second when there are no microseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive values are taken as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode(tp: Any, data: Any, path: str) -> Any:
    origin = get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = get_args(tp)
        if data is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _decode(non_none[0], data, path)
        for arg in non_none:
            try:
                return _decode(arg, data, path)
            except DecodeError:
                continue
        raise DecodeError(path, f"does not match any of {tp}")
    if tp is Any:
        return data
    if origin is tuple:
        if not isinstance(data, list):
            raise DecodeError(path, f"expected a list, got {type(data).__name__}")
        (item,) = get_args(tp)[:1]
        return tuple(_decode(item, v, f"{path}[{i}]") for i, v in enumerate(data))
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        if not isinstance(data, dict):
            raise DecodeError(path, f"expected an object, got {type(data).__name__}")
        args = get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        return {str(k): _decode(value_type, v, f"{path}.{k}") for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise DecodeError(path, f"expected an object for {tp.__name__}, got {type(data).__name__}")
        hints = _hints(tp)
        kwargs: dict[str, Any] = {}
        names = set(_field_names(tp))
        for key in data:
            if key not in names:
                raise DecodeError(f"{path}.{key}", f"unknown field for {tp.__name__}")
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = _decode(hints[f.name], data[f.name], f"{path}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DecodeError(f"{path}.{f.name}", "missing required field")
        return tp(**kwargs)
    if tp is datetime:
        if not isinstance(data, str):
            raise DecodeError(path, "expected an ISO-8601 timestamp string")
        try:
            return parse_time(data)
        except ValueError as exc:
            raise DecodeError(path, f"bad timestamp {data!r}") from exc
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError as exc:
            raise DecodeError(path, f"{data!r} is not one of {[m.value for m in tp]}") from exc
    if tp is float:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data)
        raise DecodeError(path, f"expected a number, got {type(data).__name__}")
    if tp in (str, int, bool):
        if type(data) is not tp:
            raise DecodeError(path, f"expected {tp.__name__}, got {type(data).__name__}")
        return data
    raise DecodeError(path, f"unsupported type {tp!r}")
