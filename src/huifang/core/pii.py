"""Personal data: encryption at rest, keyed hashes for exact search, masking (CLI-4, SPEC §12).

- ``encrypt``/``decrypt``: AES-256-GCM, a fresh random 96-bit nonce per value;
  stored as URL-safe base64 of ``b"\\x01" + nonce + ciphertext`` (text, so that
  bulk COPY needs no bytea escaping). Key: ``HUIFANG_FIELD_KEY``.
- ``keyed_hash``: HMAC-SHA256 of the normalised value, hex; equal inputs give
  equal hashes, so an exact ID number or mobile can be searched without
  decrypting. Key: ``HUIFANG_HASH_KEY``, separate from the encryption key. The
  importer computes the same function set-wise in DuckDB (``install_duckdb``);
  the Parquet archive keeps these hashes instead of plain values.
- ``mask_id_number``/``mask_mobile``: first 3 and last 4 characters kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

_VERSION = b"\x01"
_NONCE = 12
MASK = "*"


@lru_cache(maxsize=4)
def _aead(secret: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"huifang-field-key:" + secret.encode()).digest())


@lru_cache(maxsize=4)
def _hash_key(secret: str) -> bytes:
    return hashlib.sha256(b"huifang-hash-key:" + secret.encode()).digest()


def field_cipher() -> AESGCM:
    """The AEAD for the configured field key."""
    return _aead(settings.HUIFANG_FIELD_KEY)


def hash_key() -> bytes:
    """The key of the keyed hash."""
    return _hash_key(settings.HUIFANG_HASH_KEY)


# Removed before hashing: ASCII white space, dashes and the ideographic space.
_STRIP = {ord(c): None for c in " \t\n\r\f\v-\u3000"}
_STRIP_RE2 = "[ \\t\\n\\r\\f\\v\\-\\x{3000}]"


def normalise(value: str) -> str:
    """The form that is hashed: no spaces or dashes, upper case (ID check letter X)."""
    return value.translate(_STRIP).upper()


def encrypt(value: str | None) -> str | None:
    """Encrypt one value; ``None`` and ``""`` stay ``None``."""
    return encrypt_many([value])[0]


def decrypt(token: str | None) -> str | None:
    """Decrypt one stored value."""
    if not token:
        return None
    raw = base64.urlsafe_b64decode(token)
    if raw[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    return field_cipher().decrypt(raw[1 : 1 + _NONCE], raw[1 + _NONCE :], None).decode()


def keyed_hash(value: str | None) -> str | None:
    """Keyed BLAKE2b-256 of the normalised value, hex; ``None`` for empty values."""
    return hash_many([value])[0]


def encrypt_many(values: Sequence[str | None]) -> list[str | None]:
    """Encrypt a column in one go (one ``urandom`` call for all nonces)."""
    aead = field_cipher()
    nonces = os.urandom(_NONCE * len(values))
    encode = base64.urlsafe_b64encode
    out: list[str | None] = []
    for i, value in enumerate(values):
        if value:
            nonce = nonces[i * _NONCE : (i + 1) * _NONCE]
            out.append(
                encode(_VERSION + nonce + aead.encrypt(nonce, value.encode(), None)).decode()
            )
        else:
            out.append(None)
    return out


RECORD_SEP = "\x1f"


def pack(values: Sequence[str | None]) -> str | None:
    """Several PII fields as one string to encrypt once; ``None`` when all are empty."""
    if not any(values):
        return None
    return RECORD_SEP.join(v or "" for v in values)


def unpack(packed: str | None, width: int) -> list[str | None]:
    """Inverse of ``pack``."""
    if packed is None:
        return [None] * width
    return [v or None for v in packed.split(RECORD_SEP)]


def hash_many(values: Iterable[str | None]) -> list[str | None]:
    """Keyed hashes of a column."""
    key = hash_key()
    return [
        hmac.new(key, normalise(v).encode(), hashlib.sha256).hexdigest() if v else None
        for v in values
    ]


def install_duckdb(con: Any) -> None:
    """DuckDB macros computing exactly ``normalise``, ``keyed_hash``, the masks and ``pack``.

    ``hf_hash(v)`` is HMAC-SHA256 built from DuckDB's vectorised ``sha256``; the key
    pads live in a temporary table of this in-memory connection only.
    """
    key = hash_key().ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hf_key AS SELECT ?::BLOB AS ipad, ?::BLOB AS opad",
        [ipad, opad],
    ).fetchall()
    con.execute(
        f"""
        CREATE OR REPLACE TEMP MACRO hf_norm(v) AS upper(regexp_replace(v, '{_STRIP_RE2}', '', 'g'));
        CREATE OR REPLACE TEMP MACRO hf_hash(v) AS CASE WHEN v IS NULL OR v = '' THEN NULL ELSE
          sha256((SELECT opad FROM hf_key) || unhex(sha256((SELECT ipad FROM hf_key) || encode(hf_norm(v)))))
          END;
        CREATE OR REPLACE TEMP MACRO hf_mask(v) AS CASE WHEN v IS NULL OR v = '' THEN ''
          WHEN length(v) <= 7 THEN repeat('{MASK}', length(v))
          ELSE left(v, 3) || repeat('{MASK}', length(v) - 7) || right(v, 4) END;
        """
    ).fetchall()


def pack_sql(columns: Sequence[str]) -> str:
    """SQL of ``pack`` over the given (NULL-for-empty) columns."""
    joined = " || chr(31) || ".join(f"coalesce({c}, '')" for c in columns)
    any_set = " OR ".join(f"{c} IS NOT NULL" for c in columns)
    return f"CASE WHEN {any_set} THEN {joined} END"


def mask_keep(value: str | None, head: int = 3, tail: int = 4) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters; shorter values fully masked."""
    if not value:
        return ""
    if len(value) <= head + tail:
        return MASK * len(value)
    return value[:head] + MASK * (len(value) - head - tail) + value[-tail:]


def mask_id_number(value: str | None) -> str:
    """ID number as SPEC §12 masks it: first 3 and last 4 characters."""
    return mask_keep(value)


def mask_mobile(value: str | None) -> str:
    """Mobile as SPEC §12 masks it: first 3 and last 4 digits."""
    return mask_keep(value)


def mask_text(value: str | None) -> str:
    """Address, e-mail and other free text: only the first 2 characters kept."""
    if not value:
        return ""
    return value[:2] + MASK * max(len(value) - 2, 2)


def mask_name(value: str | None) -> str:
    """A client's name shown to those who must not see it: the first character (a surname), then
    ``**`` whatever the length, so the length tells nothing either."""
    value = (value or "").strip()
    return f"{value[0]}{MASK * 2}" if value else MASK * 2


# Full ID card numbers (17 digits + check) and mainland mobiles anywhere in text.
PII_PATTERNS = (
    re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
    re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
)


def scrub(text: str) -> str:
    """Mask every full ID number or mobile that appears in free text."""
    for pattern in PII_PATTERNS:
        text = pattern.sub(lambda m: mask_keep(m.group(0)), text)
    return text


class PiiLogFilter(logging.Filter):
    """Masks ID numbers and mobiles in every log record (CLI-4)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
