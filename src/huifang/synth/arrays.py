"""Vectorised building blocks: counter-based random numbers and Arrow column builders.

Every random attribute of a client is a pure function of (seed, stream name,
client index): the output does not depend on how the population is chunked, and
any client's row can be rebuilt on a later day without keeping it in memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

IntArray = NDArray[np.integer[Any]]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

EPOCH = dt.date(1970, 1, 1)
MONEY = pa.decimal128(18, 2)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_53 = float(2**-53)


def epoch_day(day: dt.date) -> int:
    """Days since 1970-01-01."""
    return (day - EPOCH).days


def from_epoch(days: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(days))


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64 finaliser, in place."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


class Keyed:
    """Counter-based random numbers keyed by seed and stream name."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._keys: dict[str, np.uint64] = {}

    def key(self, stream: str) -> np.uint64:
        found = self._keys.get(stream)
        if found is None:
            digest = hashlib.blake2b(f"{self.seed}:{stream}".encode(), digest_size=8).digest()
            found = self._keys[stream] = np.uint64(int.from_bytes(digest, "little"))
        return found

    def bits(self, stream: str, idx: IntArray) -> NDArray[np.uint64]:
        x = idx.astype(np.uint64) * _GOLDEN
        x += self.key(stream)
        return _mix(x)

    def uniform(self, stream: str, idx: IntArray) -> FloatArray:
        """Uniform in [0, 1)."""
        return (self.bits(stream, idx) >> np.uint64(11)).astype(np.float64) * _TWO_53

    def normal(self, stream: str, idx: IntArray) -> FloatArray:
        """Standard normal (Box-Muller)."""
        radius = np.sqrt(-2.0 * np.log1p(-self.uniform(stream + "#r", idx)))
        return radius * np.cos(2.0 * np.pi * self.uniform(stream + "#a", idx))

    def integers(self, stream: str, idx: IntArray, high: int | IntArray, low: int = 0) -> IntArray:
        """Uniform integers in [low, high)."""
        span = np.asarray(high, dtype=np.int64) - low
        return low + (self.uniform(stream, idx) * span).astype(np.int64)

    def choice(self, stream: str, idx: IntArray, weights: Sequence[float]) -> IntArray:
        """Index into ``weights`` drawn with those relative weights."""
        cum = np.cumsum(np.asarray(weights, dtype=np.float64))
        return np.searchsorted(cum / cum[-1], self.uniform(stream, idx), side="right").astype(
            np.int64
        )

    def generator(self, stream: str) -> np.random.Generator:
        """A sequential generator for small, whole-population draws (events of a day)."""
        return np.random.Generator(np.random.PCG64(int(self.key(stream))))


# --- Arrow builders -----------------------------------------------------------


def _validity(valid: BoolArray | None) -> pa.Buffer | None:
    if valid is None:
        return None
    return pa.py_buffer(np.packbits(valid.astype(np.bool_), bitorder="little"))


def digits(values: IntArray, width: int) -> NDArray[np.uint8]:
    """Zero-padded decimal digits as an (n, width) ASCII matrix."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64).copy()
    for pos in range(width - 1, -1, -1):
        out[:, pos] = rest % 10 + 48
        rest //= 10
    return out


def ascii_matrix(*parts: NDArray[np.uint8] | str, rows: int) -> NDArray[np.uint8]:
    """Concatenate fixed-width ASCII pieces (matrices or constant strings) column-wise."""
    blocks = [
        np.broadcast_to(np.frombuffer(p.encode("ascii"), dtype=np.uint8), (rows, len(p)))
        if isinstance(p, str)
        else p
        for p in parts
    ]
    return np.ascontiguousarray(np.hstack(blocks)) if blocks else np.empty((rows, 0), np.uint8)


def fixed_strings(matrix: NDArray[np.uint8], valid: BoolArray | None = None) -> pa.Array:
    """An Arrow string array from an (n, width) ASCII matrix, without copying strings."""
    rows, width = matrix.shape
    offsets = np.arange(0, rows * width + 1, width, dtype=np.int32)
    data = np.ascontiguousarray(matrix).reshape(-1)
    buffers = [_validity(valid), pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), rows, buffers)


def coded_ids(
    prefix: str, numbers: IntArray, width: int, valid: BoolArray | None = None
) -> pa.Array:
    """IDs like ``C00000001`` from numbers; rows where ``valid`` is false are null."""
    safe = np.where(numbers >= 0, numbers, 0) if valid is not None else numbers
    return fixed_strings(ascii_matrix(prefix, digits(safe, width), rows=len(numbers)), valid)


def money(cents: IntArray, valid: BoolArray | None = None) -> pa.Array:
    """decimal(18, 2) from non-negative integer cents."""
    words = np.zeros((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    return pa.Array.from_buffers(MONEY, len(cents), [_validity(valid), pa.py_buffer(words)])


def dates(days: IntArray, valid: BoolArray | None = None) -> pa.Array:
    """date32 from epoch days."""
    data = np.ascontiguousarray(days, dtype=np.int32)
    return pa.Array.from_buffers(pa.date32(), len(days), [_validity(valid), pa.py_buffer(data)])


def bools(values: BoolArray, valid: BoolArray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(values.astype(np.bool_), type=pa.bool_(), mask=mask)


def pick(words: Sequence[str], idx: IntArray, valid: BoolArray | None = None) -> pa.Array:
    """Strings taken from ``words`` by index; null where not ``valid``."""
    taken = pa.array(list(words), type=pa.string()).take(pa.array(np.where(idx >= 0, idx, 0)))
    return with_nulls(taken, valid)


def with_nulls(values: pa.Array, valid: BoolArray | None) -> pa.Array:
    if valid is None or bool(valid.all()):
        return values
    return pc.if_else(pa.array(valid), values, pa.scalar(None, values.type))


def numbers(values: IntArray) -> pa.Array:
    """Decimal strings of integers, without padding."""
    return pc.cast(pa.array(values, type=pa.int64()), pa.string())


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation; a null part makes the row null."""
    return pc.binary_join_element_wise(*parts, "")


def clock_times(day: dt.date, seconds: IntArray) -> pa.Array:
    """ISO datetimes ``YYYY-MM-DDTHH:MM:SS+08:00`` on ``day`` from seconds after midnight."""
    rows = len(seconds)
    hours, rest = np.divmod(seconds.astype(np.int64), 3600)
    minutes, secs = np.divmod(rest, 60)
    matrix = ascii_matrix(
        f"{day.isoformat()}T",
        digits(hours, 2),
        ":",
        digits(minutes, 2),
        ":",
        digits(secs, 2),
        "+08:00",
        rows=rows,
    )
    return fixed_strings(matrix)


def session_seconds(u: FloatArray) -> IntArray:
    """Seconds after midnight inside the trading sessions 09:30–11:30 and 13:00–15:00."""
    offset = (np.asarray(u) * 4 * 3600).astype(np.int64)
    morning = offset < 2 * 3600
    return np.where(morning, 9 * 3600 + 1800 + offset, 13 * 3600 + offset - 2 * 3600)


def ymd(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month and day of epoch days."""
    d64 = days.astype("datetime64[D]")
    months = d64.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d64 - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def add_years(days: IntArray, years: int) -> IntArray:
    """The same calendar day ``years`` later (29 February becomes 1 March)."""
    year, month, day = ymd(days)
    months = ((year + years - 1970) * 12 + month - 1).astype("datetime64[M]")
    first = months.astype("datetime64[D]").astype(np.int64)
    return first + day - 1


def weekday(days: IntArray) -> IntArray:
    """Monday = 0 (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def to_weekday(days: IntArray) -> IntArray:
    """Weekend dates moved back to the Friday before."""
    wd = weekday(days)
    return np.where(wd >= 5, days - (wd - 4), days)
