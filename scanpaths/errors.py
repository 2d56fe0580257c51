"""Errors raised at the public edge of partialstem.

Every check on user input raises :class:`InputError` with a one-line message that names the
parameter and the allowed range, so the CLI can print it without a traceback and exit with 2.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np


class InputError(ValueError):
    """Bad user input: the message is one line naming the parameter and the allowed range."""


def check_shape(shape: Any, name: str = "shape", low: int = 2, high: int = 16384) -> tuple[int, int]:
    """Validate an image shape ``(H, W)`` of positive ints in ``[low, high]``; return it."""
    try:
        h, w = (int(v) for v in shape)
        ok = all(float(v) == int(v) for v in shape)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be two integers (H, W), got {shape!r}") from None
    if not ok or not (low <= h <= high and low <= w <= high):
        raise InputError(f"{name} must be two integers in [{low}, {high}], got {tuple(shape)!r}")
    return h, w


def check_number(
    value: Any,
    name: str,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validate a finite real number in a range and return it as ``float``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(v):
        raise InputError(f"{name} must be a number, got NaN")
    bad = (v <= low if low_open else v < low) or (v >= high if high_open else v > high)
    if bad:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise InputError(f"{name} must be in {lo}{low:g}, {high:g}{hi}, got {v:g}")
    return v


def check_image(image: Any, name: str = "image") -> np.ndarray:
    """Validate a 2-D, non-empty, finite real image; return it as C-contiguous float64."""
    arr = np.asarray(image)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"{name} must be a real-valued array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-D (H, W), got shape {arr.shape}")
    if arr.size == 0 or min(arr.shape) < 2:
        raise InputError(f"{name} must be at least 2x2 pixels, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise InputError(f"{name} contains NaN or inf values; clean the image first")
    return arr


def check_seed(seed: Any, name: str = "seed") -> Any:
    """``seed`` if it is a valid seed: None, a ``numpy.random.Generator``, or an integer >= 0
    (a NumPy integer too); else a one-line :class:`InputError` (NumPy's own is a traceback)."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"{name} must be an integer >= 0, got {seed!r}")
    if seed < 0:
        raise InputError(f"{name} must be >= 0, got {seed}")
    return int(seed)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Validate that ``value`` is one of ``choices``."""
    options = list(choices)
    if value not in options:
        raise InputError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return str(value)


class ConfigError(InputError):
    """A bad value of one field of a configuration dataclass.

    ``field`` is the field's name (dotted for nested configs, e.g. ``env.size``) and ``detail``
    the rest of the message, so a command line can print the flag instead of the field:
    ``str(error)`` is ``f"{field} {detail}"``.
    """

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field} {detail}")
        self.field = field
        self.detail = detail

    def under(self, prefix: str) -> ConfigError:
        """The same error for this config nested as field ``prefix`` of an outer one."""
        return ConfigError(f"{prefix}.{self.field}", self.detail)


@contextlib.contextmanager
def field_errors(field: str, prefix: str = "") -> Iterator[None]:
    """Report what goes wrong in the block as the configuration field ``field``.

    A :class:`ConfigError` of a nested config becomes ``field.its_field``; any other
    :class:`InputError` becomes ``ConfigError(field, message)``, with ``prefix`` (the checked
    thing's own name, e.g. ``"device "``) taken off the front of the message.

    >>> with field_errors("env"):
    ...     raise ConfigError("size", "must be at least 32")
    Traceback (most recent call last):
    ...
    scanpaths.errors.ConfigError: env.size must be at least 32
    """
    try:
        yield
    except ConfigError as exc:
        raise exc.under(field) from None
    except InputError as exc:
        raise ConfigError(field, str(exc).removeprefix(prefix)) from None
