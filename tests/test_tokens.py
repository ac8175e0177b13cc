"""Prompt tokens: the real o200k encoding with gpt-oss's chat framing, the same count in the
rate limiter's estimate and in the local server's accounting."""

from __future__ import annotations

from collections.abc import Callable

import groq

from pipeline.groq_server.server import MockGroq
from pipeline.llm.client import estimate_tokens
from pipeline.llm.prompts import RESPONSE_FORMAT, LeadForModel, batch_message, persona_prompt
from pipeline.llm.tokens import (
    chat_prompt_tokens,
    message_tokens,
    o200k_encoding,
    text_tokens,
)
from pipeline.persona.spec import Persona


def test_text_is_counted_with_the_o200k_encoding() -> None:
    # o200k encodes "hello world" as the tokens 24912 ("hello") and 2375 (" world").
    assert o200k_encoding().encode_ordinary("hello world") == [24912, 2375]
    assert text_tokens("hello world") == 2
    assert text_tokens("") == 0


def test_each_message_carries_harmonys_framing() -> None:
    assert message_tokens("user", "hello world") == 3 + 1 + 2
    one = chat_prompt_tokens([{"role": "user", "content": "hello world"}])
    two = chat_prompt_tokens(
        [{"role": "user", "content": "hello world"}, {"role": "user", "content": "hello world"}]
    )
    assert two - one == message_tokens("user", "hello world")
    with_schema = chat_prompt_tokens([{"role": "system", "content": "x"}], RESPONSE_FORMAT)
    without = chat_prompt_tokens([{"role": "system", "content": "x"}])
    assert with_schema - without > 20, "the schema is part of the prompt"


def test_the_estimate_and_the_servers_count_agree(
    groq_server: Callable[..., MockGroq], persona: Persona
) -> None:
    server: MockGroq = groq_server()
    leads = [
        LeadForModel(f"l{n}", "acme.com", "Acme", "51-200", "smb", "Software", f"Head of Sales {n}")
        for n in range(5)
    ]
    message, _ = batch_message(leads)
    messages = [
        {"role": "system", "content": persona_prompt(persona)},
        {"role": "user", "content": message},
    ]
    with groq.Groq(api_key="k", base_url=server.base_url, max_retries=0) as client:
        reply = client.chat.completions.create(
            model="openai/gpt-oss-120b",
            messages=messages,  # type: ignore[arg-type]
            response_format=RESPONSE_FORMAT,  # type: ignore[arg-type]
            max_completion_tokens=500,
        )
    assert reply.usage is not None
    assert estimate_tokens(messages, 500) - 500 == reply.usage.prompt_tokens
