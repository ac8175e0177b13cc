"""A local Groq-compatible HTTP server: a tool the CLI serves, not part of the ranking.

`persona-ranker mock-groq` and the tests run it on 127.0.0.1 so that the real `groq` SDK is
exercised end to end without Groq: the HTTP server with Groq's limits, headers and scripted
faults (`server`) and its deterministic answers and token counts (`model`).
"""
