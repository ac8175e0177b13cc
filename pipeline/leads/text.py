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
