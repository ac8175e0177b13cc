"""Persona Ranker: qualify and rank B2B leads per company against an ideal customer persona.

The framework-free core is `leads`, `persona`, `ranking` and `quality` (none imports Dagster);
the model path is `llm`; the edges are `storage` (IO managers) and `orchestration` (resources,
settings, partitions, instance); `groq_server` is the local Groq-compatible server. The CLI
(`cli`) and the UI load the same `definitions`.
"""

import pandas as pd

# Copy-on-write (pandas 3's default): selecting, re-indexing and adding columns share memory
# until something writes, instead of copying every column of a million-lead frame each time.
pd.options.mode.copy_on_write = True
