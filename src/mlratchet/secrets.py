"""Params that look like secrets, masked wherever a param value is printed.

``params diff`` (table, ``--md``, ``--json``) and the report's params section print values; a
key that looks like a secret shows ``***`` instead. A key looks like one when a part of its
dotted path contains (case-insensitively) one of :data:`SECRET_WORDS`, or is exactly ``key``,
or when the path or one of its parts matches a pattern of ``params.mask`` in ``ratchet.yaml``
(fnmatch, case-insensitive: ``db.*``, ``*_dsn``). A whole section named like a secret
(``credentials:``) is masked, key by key. Over-masking is the safe side: ``max_tokens`` is
masked too, as it contains ``token``.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

#: Substrings of a key name that mark its value as a secret.
SECRET_WORDS = (
    "password",
    "passwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "credential",
)
#: What a masked value is shown as.
MASK = "***"


def is_secret(key: str, patterns: Iterable[str] = ()) -> bool:
    """Whether the dotted key path ``key`` names a secret (by its words, or ``patterns``)."""
    lowered = key.lower()
    parts = lowered.split(".")
    if any(part == "key" or any(word in part for word in SECRET_WORDS) for part in parts):
        return True
    return any(
        fnmatchcase(lowered, pat.lower()) or any(fnmatchcase(p, pat.lower()) for p in parts)
        for pat in patterns
    )


def mask(key: str, value: Any, patterns: Iterable[str] = ()) -> Any:
    """``value``, or :data:`MASK` when ``key`` names a secret (an absent value stays None)."""
    if value is None or not is_secret(key, patterns):
        return value
    return MASK


__all__ = ["MASK", "SECRET_WORDS", "is_secret", "mask"]
