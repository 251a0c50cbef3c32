"""Text typed by people: control characters are refused, invisible ones removed.

A NUL byte or another control character has no place in a name or a question (PostgreSQL
refuses NUL outright); bidi overrides and zero-width characters can make a name display as
something else to staff. Names lose the invisible characters; any field with a control
character gets a message next to it.
"""
from __future__ import annotations

import unicodedata

from .intake import N_

ALLOWED_CONTROLS = frozenset("\t\n\r")  # in multi-line text (a description, a note)
# Zero-width characters, bidi embeddings, overrides and isolates, the word joiner, the BOM.
INVISIBLE = frozenset(
    [chr(c) for c in range(0x200B, 0x2010)] + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2060, 0x2065)] + [chr(c) for c in range(0x2066, 0x206A)]
    + [chr(c) for c in range(0xE0000, 0xE0080)]  # tag characters
    + ["\ufeff", "\u00ad", "\u061c", "\u180e"]  # BOM, soft hyphen, Arabic letter mark, Mongolian vowel separator
)
# Cc: control characters; Cs: lone surrogates (from JSON "\ud800"), which no database can store.
REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})
CONTROL_MESSAGE = N_("Ce texte contient un caractère de contrôle invisible (copié-collé ?) : retapez-le.")


class TextError(ValueError):
    def __init__(self, message: str = CONTROL_MESSAGE):
        super().__init__(message)
        self.message = message


def has_control(text: str, *, multiline: bool = False) -> bool:
    allowed = ALLOWED_CONTROLS if multiline else frozenset()
    return any(unicodedata.category(ch) in REFUSED_CATEGORIES and ch not in allowed for ch in text)


def strip_invisible(text: str | None) -> str | None:
    if text is None:
        return None
    return "".join(ch for ch in text if ch not in INVISIBLE)


def clean_text(text: str | None, *, multiline: bool = False) -> str | None:
    """``text`` without invisible characters; ``TextError`` when it holds a control character."""
    if text is None:
        return None
    if has_control(text, multiline=multiline):
        raise TextError()
    return strip_invisible(text)
