"""Finding a persona's phrases (vocabulary, rewrites, translations) in a title's text: one
compiled pattern per phrase set, each word claimed by the longest phrase that holds it."""

from __future__ import annotations

import re
from functools import cache

from pipeline.leads.text import UNSPACED_SCRIPTS

# Scripts written without spaces between words: their phrases are found inside words.
_UNSPACED = re.compile(f"[{UNSPACED_SCRIPTS}]")


@cache
def phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """All phrases in one pattern, where at each position the longest phrase wins, so each
    word is claimed once. Phrases in scripts without spaces match inside words; all others
    on word boundaries. Written as a trie of the phrases' characters: a position is tried
    once, not once per phrase (titles are read by the thousand against hundreds of
    phrases)."""
    if not phrases:
        return None
    by_first: dict[str, list[str]] = {}
    for phrase in phrases:
        by_first.setdefault(phrase[0], []).append(phrase)
    # Phrases sharing a first character share the boundary before it: where a word starts,
    # all of them are candidates; inside a word, only those in scripts without spaces.
    at_boundary, anywhere = [], []
    for group in by_first.values():
        unspaced = [phrase for phrase in group if _UNSPACED.search(phrase)]
        if len(unspaced) < len(group):
            at_boundary += group
            anywhere += unspaced
        else:
            anywhere += group
    options = [rf"\b{_trie_pattern(_trie(at_boundary))}"] if at_boundary else []
    options += [_trie_pattern(_trie(anywhere))] if anywhere else []
    return re.compile("|".join(options))


# The key under which a trie node keeps what must follow a phrase ending there.
_PHRASE_END = ""


def _trie(phrases: list[str]) -> dict[str, dict]:
    root: dict[str, dict] = {}
    for phrase in phrases:
        node = root
        for char in phrase:
            node = node.setdefault(char, {})
        node[_PHRASE_END] = "" if _UNSPACED.search(phrase) else r"\b"  # type: ignore[assignment]
    return root


def _trie_pattern(node: dict[str, dict]) -> str:
    """Longer phrases first: a phrase ending at this node is the last option."""
    options = [
        re.escape(char) + _trie_pattern(child)
        for char, child in node.items()
        if char != _PHRASE_END
    ]
    if _PHRASE_END in node:
        options.append(node[_PHRASE_END])  # type: ignore[arg-type]
    return options[0] if len(options) == 1 else f"(?:{'|'.join(options)})"
