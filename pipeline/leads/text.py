"""Text normalisation shared by title parsing, company keys and lead identity."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from itertools import chain

_NON_WORD = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    if text.isascii():
        return text  # nothing to decompose: most names, titles and companies
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
    return value.translate(_invisible_characters()).strip()


# Outside the Basic Multilingual Plane, format characters live in these blocks only
# (Egyptian hieroglyph controls, shorthand format controls, musical symbol beams, tags).
_ASTRAL_FORMAT_BLOCKS = (
    (0x11000, 0x11100),
    (0x13430, 0x13460),
    (0x1BCA0, 0x1BCB0),
    (0x1D170, 0x1D180),
    (0xE0000, 0xE0080),
)


@cache
def _invisible_characters() -> dict[int, str | None]:
    """str.translate's table: format characters (Cf) dropped, spaces (Zs) made plain."""
    points = chain(range(0x10000), *(range(start, end) for start, end in _ASTRAL_FORMAT_BLOCKS))
    table: dict[int, str | None] = {}
    for point in points:
        category = unicodedata.category(chr(point))
        if category == "Cf":
            table[point] = None
        elif category == "Zs" and point != 0x20:
            table[point] = " "
    return table


_NON_LETTER = re.compile(r"[\W_]+")
# Scripts written without spaces: a run of them is set apart from Latin words beside it.
UNSPACED_SCRIPTS = "\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"
_UNSPACED_RUN = re.compile(f"[{UNSPACED_SCRIPTS}]+")


def normalize_title(text: str) -> str:
    """`normalize_text` for job titles, keeping the letters of every script: 'Директор по
    продажам' stays Cyrillic, '営業部長' stays Japanese ('联合创始人兼CEO' becomes
    '联合创始人兼 ceo'); Latin text folds exactly as `normalize_text` folds it."""
    folded = strip_accents(text.replace("&", " and ")).casefold()
    spaced = _UNSPACED_RUN.sub(lambda run: f" {run.group(0)} ", folded)
    return _NON_LETTER.sub(" ", spaced).strip()
