"""Persona Ranker: qualify and rank B2B leads per company against an ideal customer persona.

The framework-free core is `leads`, `persona`, `ranking` and `quality` (none imports Dagster);
the model path is `llm`; the edges are `storage` (IO managers) and `orchestration` (resources,
settings, partitions, instance); `groq_server` is the local Groq-compatible server. The CLI
(`cli`) and the UI load the same `definitions`.
"""
