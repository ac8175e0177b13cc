"""Text normalisation shared by title parsing, company keys and lead identity."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalize_text(text: str) -> str:
    """Lower-case ASCII words separated by single spaces: 'Co-Founder & CEO' -> 'co founder ceo'.

    '&' becomes 'and' so that phrases such as 'r&d' survive as 'r and d'.
    """
    folded = strip_accents(text.replace("&", " and ")).casefold()
    return _NON_WORD.sub(" ", folded).strip()


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def clean_cell(value: str) -> str:
    """A cell without invisible characters: format characters (zero-width spaces, joiners, a
    stray byte-order mark, soft hyphens) dropped, other spaces (no-break, thin) made plain,
    the ends trimmed. Otherwise the text stays as the file wrote it."""
    if value.isascii():
        return value.strip()
    return "".join(
        "" if category == "Cf" else " " if category == "Zs" else char
        for char, category in ((char, unicodedata.category(char)) for char in value)
    ).strip()
