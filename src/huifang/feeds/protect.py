"""Encryption of a feed's personal data in bulk, on every core (CLI-4).

Keyed hashes and masks are computed set-wise in DuckDB (``core.pii.install_duckdb``);
encryption is the only per-value Python work of an import, so large columns are
split into chunks and spread over a process pool. Workers get the key as an
argument, never from settings, so they need no Django.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import pyarrow as pa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PARALLEL_FROM = 100_000
CHUNK = 100_000


def encrypt_chunk(field_key: bytes, values: Sequence[str | None]) -> list[str | None]:
    """AES-256-GCM with a fresh nonce per value (see huifang.core.pii)."""
    aead = AESGCM(field_key)
    nonces = os.urandom(12 * len(values))
    encode = base64.urlsafe_b64encode
    out: list[str | None] = []
    for i, value in enumerate(values):
        if value:
            nonce = nonces[i * 12 : (i + 1) * 12]
            out.append(encode(b"\x01" + nonce + aead.encrypt(nonce, value.encode(), None)).decode())
        else:
            out.append(None)
    return out


def field_key_bytes() -> bytes:
    """The raw AES key derived from the configured field key (as huifang.core.pii does)."""
    from django.conf import settings

    return hashlib.sha256(b"huifang-field-key:" + settings.HUIFANG_FIELD_KEY.encode()).digest()


def chunked(
    func: Callable[..., list[Any]],
    key: bytes,
    columns: Sequence[Sequence[Any]],
    *,
    flat: bool = False,
) -> list[Any]:
    """Apply ``func(key, *column_chunks)`` over row chunks, in parallel when large.

    Returns per output column the concatenation of the chunks (or one list when ``flat``).
    """
    rows = len(columns[0]) if columns else 0
    # At least one (possibly empty) chunk, so that a header-only file still yields its columns.
    starts = range(0, max(rows, 1), CHUNK)
    parts = [[c[s : s + CHUNK] for c in columns] for s in starts]
    workers = min(os.cpu_count() or 1, 4)
    if rows >= PARALLEL_FROM and workers > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            results = list(pool.map(_call, [(func, key, p) for p in parts]))
    else:
        results = [func(key, *p) for p in parts]
    if flat:
        return [v for r in results for v in r]
    width = len(results[0]) if results else 0
    return [[v for r in results for v in r[i]] for i in range(width)]


def _call(args: tuple[Callable[..., Any], bytes, list[Any]]) -> Any:
    func, key, part = args
    return func(key, *part)


def encrypted_batches(table: pa.Table, *, source: str, target: str) -> Iterator[pa.Table]:
    """Slices of ``table`` with column ``source`` replaced by its encryption as ``target``.

    The process pool encrypts ahead while the caller consumes (e.g. streams into
    COPY), so encryption and database ingest use different cores at once.
    """
    key = field_key_bytes()
    slices = [table.slice(start, CHUNK) for start in range(0, table.num_rows, CHUNK)]
    values = [part.column(source).to_pylist() for part in slices]
    index = table.column_names.index(source)
    workers = min(os.cpu_count() or 1, 4)
    if table.num_rows >= PARALLEL_FROM and workers > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            for part, tokens in zip(
                slices, pool.map(encrypt_chunk, [key] * len(values), values), strict=True
            ):
                yield part.set_column(index, target, pa.array(tokens, pa.string()))
    else:
        for part, plain in zip(slices, values, strict=True):
            yield part.set_column(index, target, pa.array(encrypt_chunk(key, plain), pa.string()))
