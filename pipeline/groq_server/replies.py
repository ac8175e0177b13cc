"""What the local server answers: the checks a request must pass (strict structured output
among them), the chat completion object Groq returns, an error body, and the faults that
spoil an answer's content."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any


def apply_content_fault(fault: str, content: str, scored: list[Any]) -> str:
    if fault == "malformed":
        return content[: len(content) // 2]
    document = json.loads(content)
    entries = document["leads"]
    if fault == "missing_id" and entries:
        entries.pop()
    elif fault == "duplicate_id" and entries:
        entries.append({**entries[0], "score": 100 - entries[0]["score"]})
    elif fault == "extra_id":
        entries.append({"id": 999, "score": 50, "reason": "not sent"})
    elif fault == "out_of_range" and entries:
        entries[0]["score"] = 150
    elif fault == "all_100":
        for entry in entries:
            entry["score"] = 100
    else:
        return content
    return json.dumps(document, separators=(",", ":"))


def user_message(messages: list[dict[str, Any]]) -> str:
    return next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")


def request_problem(body: dict[str, Any]) -> str:
    if not isinstance(body.get("model"), str):
        return "'model' is required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    response_format = body.get("response_format")
    if response_format is not None:
        if response_format.get("type") != "json_schema":
            return "response_format.type must be 'json_schema' here"
        spec = response_format.get("json_schema", {})
        if spec.get("strict") is not True:
            return "json_schema.strict must be true"
        problem = _strict_schema_problem(spec.get("schema", {}), "schema")
        if problem:
            return problem
    return ""


def _strict_schema_problem(schema: dict[str, Any], where: str) -> str:
    """Strict mode's rules: every object lists all its properties as required and allows no
    others."""
    if schema.get("type") == "object":
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return f"{where}: additionalProperties must be false in strict mode"
        if set(schema.get("required", [])) != set(properties):
            return f"{where}: every property must be required in strict mode"
        for name, child in properties.items():
            problem = _strict_schema_problem(child, f"{where}.{name}")
            if problem:
                return problem
    if schema.get("type") == "array":
        return _strict_schema_problem(schema.get("items", {}), f"{where}[]")
    return ""


@dataclass(frozen=True)
class Answer:
    content: str
    prompt: int
    completion: int
    reasoning: int

    def completion_body(self, model: str, cached: int) -> dict[str, Any]:
        """The chat completion object Groq returns (cached: prompt tokens it had seen)."""
        return _completion(
            model, self.content, self.prompt, cached, self.completion, self.reasoning
        )


def _completion(
    model: str, content: str, prompt: int, cached: int, completion: int, reasoning: int
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        },
        "system_fingerprint": "fp_mock",
        "x_groq": {"id": f"req_{uuid.uuid4().hex[:26]}"},
    }


def error_reply(status: int, message: str, kind: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    return int(status), {}, {"error": {"message": message, "type": kind, "code": kind}}


def bad_request(message: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    return error_reply(HTTPStatus.BAD_REQUEST, message, "invalid_request_error")
