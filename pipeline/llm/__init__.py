"""The Groq path: which leads the model judges, what it is sent, and what it costs.

Routing between the rules and the model (`routing`), the persona prompt and the strict answer
schema (`prompts`), checking an answer (`answers`), one call through the official SDK with our
retries (`client`), prices and tiers (`config`), the sliding-window rate limiter (`ratelimit`)
and its PostgreSQL-shared ledger (`shared_budget`), the answer cache and call log (`store`),
progress lines and events (`progress`), Groq's Batch API (`batch`: its JSONL files, the
batches in the warehouse, submitting, following and filing them), and the hybrid evaluator
that ties them together (`evaluator`).
"""
