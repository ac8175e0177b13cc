"""Prompt tokens as gpt-oss counts them: the o200k encoding, shipped offline by `bpe-openai`,
with the Harmony chat format's framing around every message.

Harmony renders a chat as `<|start|>{role}<|message|>{content}<|end|>` per message: three
special tokens and the role's own. Before the caller's messages comes the system message
Harmony writes (the model's identity, its knowledge cutoff, the date, the reasoning level,
the channels); the caller's system message becomes the developer message (`# Instructions`),
and a JSON schema response format is written into it (`# Response Formats`). The reply
starts with `<|start|>assistant`. The server-side count of Groq itself cannot be read from
here; the local server counts with this same function.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

_SPECIALS_PER_MESSAGE = 3  # <|start|>, <|message|>, <|end|>
_REPLY_OPENING = 2  # <|start|>assistant
_HARMONY_SYSTEM = (
    "You are ChatGPT, a large language model trained by OpenAI.\n"
    "Knowledge cutoff: 2024-06\nCurrent date: 2026-01-01\n\n"
    "Reasoning: low\n\n"
    "# Valid channels: analysis, commentary, final. Channel must be included for every "
    "message."
)
# The caller's roles as Harmony names them.
_HARMONY_ROLES = {"system": "developer"}


@cache
def o200k_encoding() -> Any:
    """Loaded on first use: importing bpe-openai takes 0.8 s and 140 MB, which a run with
    the rules alone should not pay."""
    with warnings.catch_warnings():
        # bpe-openai 0.1 reads its bundled files through a deprecated importlib API.
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        return bpe_openai.get_encoding("o200k_base")


def text_tokens(text: str) -> int:
    """o200k tokens of plain text (special-token markers in it count as text)."""
    return len(o200k_encoding().encode_ordinary(text))


def message_tokens(role: str, content: str) -> int:
    return _SPECIALS_PER_MESSAGE + text_tokens(role) + text_tokens(content)


def chat_prompt_tokens(
    messages: Sequence[Mapping[str, Any]], response_format: Mapping[str, Any] | None = None
) -> int:
    """Tokens of the prompt a chat completion request makes, in the Harmony format."""
    total = message_tokens("system", _HARMONY_SYSTEM) + _REPLY_OPENING
    formats = _response_formats(response_format)
    for number, message in enumerate(messages):
        role = _HARMONY_ROLES.get(str(message.get("role")), str(message.get("role")))
        content = str(message.get("content") or "")
        if role == "developer":
            content = f"# Instructions\n\n{content}"
            # The response format is written into the first developer message.
            if number == 0 and formats:
                content, formats = f"{content}\n\n{formats}", ""
        total += message_tokens(role, content)
    if formats:
        total += message_tokens("developer", formats)
    return total


def prefix_tokens(
    messages: Sequence[Mapping[str, Any]], response_format: Mapping[str, Any] | None = None
) -> int:
    """Tokens of a prompt's first messages as a prefix of a longer prompt (what a prompt
    cache can hold): without the reply's opening."""
    return chat_prompt_tokens(messages, response_format) - _REPLY_OPENING


def _response_formats(response_format: Mapping[str, Any] | None) -> str:
    if not response_format or response_format.get("type") != "json_schema":
        return ""
    schema = response_format.get("json_schema") or {}
    body = json.dumps(schema.get("schema", {}), separators=(",", ":"))
    return f"# Response Formats\n\n## {schema.get('name', 'response')}\n\n{body}"
