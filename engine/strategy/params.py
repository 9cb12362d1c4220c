"""Typed strategy parameters declared on the class.

One declaration drives three things: the value the strategy reads (`self.fast`), the GUI's
parameter form (type, range, help) and the optimiser's search space. Values arriving as text
(`--param fast=12`, a form field) are coerced and range-checked here, once. On an instance
they are read-only: `self.fast = 99` raises (at the author's line), so a run always trades
the values its report shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T", int, float, bool, str, Decimal)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ParamError(ValueError):
    """A parameter is unknown, of the wrong type or out of range; the message names it."""


@dataclass(frozen=True)
class ParamSpec:
    """What a form or optimiser needs to know about one parameter."""

    name: str
    kind: type
    default: Any
    minimum: Any
    maximum: Any
    step: Any
    choices: tuple[Any, ...] | None
    help: str


class Param(Generic[T]):
    """A class-level declaration: `fast = Param(10, min=2, max=200, help="fast SMA bars")`."""

    def __init__(
        self,
        default: T,
        *,
        min: T | None = None,
        max: T | None = None,
        step: T | None = None,
        choices: Sequence[T] | None = None,
        help: str = "",
    ) -> None:
        self.kind: type = type(default)
        self.default: T = default
        self.minimum: T | None = min
        self.maximum: T | None = max
        self.step: T | None = step
        self.choices: tuple[T, ...] | None = tuple(choices) if choices is not None else None
        self.help = help
        self.name = "<unnamed>"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.validate(self.default)  # a bad default is the author's bug: fail at import

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Param[T]: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...
    def __get__(self, obj: object | None, objtype: type | None = None) -> Param[T] | T:
        if obj is None:
            return self
        values: dict[str, Any] = obj.__dict__["_param_values"]
        value: T = values[self.name]
        return value

    def __set__(self, obj: object, value: object) -> None:
        """Parameters are fixed for a run (the report shows the values it ran with)."""
        current = obj.__dict__.get("_param_values", {}).get(self.name, self.default)
        raise AttributeError(
            f"{self.name} is a declared parameter ({self.name}={current}); parameters are "
            "read-only during a run: keep your own value in another attribute"
        )

    def spec(self) -> ParamSpec:
        return ParamSpec(
            self.name,
            self.kind,
            self.default,
            self.minimum,
            self.maximum,
            self.step,
            self.choices,
            self.help,
        )

    def coerce(self, value: object) -> T:
        """Turn form/CLI text or a Python value into this parameter's type, then validate."""
        converted: T = self._convert(value)
        self.validate(converted)
        return converted

    def _convert(self, value: object) -> Any:
        kind = self.kind
        if isinstance(value, str) and kind is not str:
            text = value.strip()
            try:
                if kind is bool:
                    low = text.lower()
                    if low in _TRUE | _FALSE:
                        return low in _TRUE
                    raise ValueError
                if kind is Decimal:
                    return Decimal(text)
                return kind(text)
            except (ValueError, InvalidOperation):
                raise ParamError(
                    f"parameter {self.name}: {value!r} is not a valid {kind.__name__}"
                ) from None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if kind is Decimal and isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        if type(value) is not kind:
            raise ParamError(
                f"parameter {self.name}: expected {kind.__name__}, got "
                f"{type(value).__name__} {value!r}"
            )
        return value

    def validate(self, value: Any) -> None:
        if isinstance(value, float | Decimal) and not _finite(value):
            raise ParamError(f"parameter {self.name}={value!r}: must be a finite number")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise ParamError(f"parameter {self.name}={value!r}: must be one of {allowed}")
        if self.minimum is not None and value < self.minimum:
            raise ParamError(f"parameter {self.name}={value!r}: must be >= {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ParamError(f"parameter {self.name}={value!r}: must be <= {self.maximum}")


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def declared_params(cls: type) -> dict[str, Param[Any]]:
    """Every Param on the class and its bases, base-class ones first, in declaration order.
    A subclass that gives a base's parameter name another value (None, a method) removes
    that parameter, as attribute lookup does (a ComposedStrategy whose part changed)."""
    found: dict[str, Param[Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Param):
                found[name] = value
            elif name in found:
                del found[name]
    return found


def resolve_params(cls: type, given: Mapping[str, object] | None) -> dict[str, Any]:
    """Defaults overlaid with `given`; unknown names are refused with the valid ones listed."""
    params = declared_params(cls)
    values = {name: p.default for name, p in params.items()}
    for name, raw in (given or {}).items():
        if name not in params:
            valid = ", ".join(params) or "none"
            raise ParamError(f"{cls.__name__} has no parameter {name!r} (parameters: {valid})")
        values[name] = params[name].coerce(raw)
    return values
