"""Company shards: every company belongs to one of a fixed number of shards, by a stable hash
of its key. A shard is the unit of work and of Dagster bookkeeping for the evaluations.

Why not a partition per company: Dagster records every partition a run materializes as its
own events (a planned event and a materialization, about 15 ms each on this machine), so a
run over 10,000 companies spent 145 of its 155 s recording them (docs/performance.md). A
shard holds many companies, so that cost no longer grows with the lead base, while one
company can still be re-run alone by re-running its shard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

# Fixed: a company's shard must not move between runs, or its old rows would stay behind in
# the shard it left. 32 keeps the bookkeeping at about 1 s a run and a shard at about 3,000
# leads for a 100,000-lead base.
SHARD_COUNT = 32
SHARD_KEYS: tuple[str, ...] = tuple(f"{number:02d}" for number in range(SHARD_COUNT))


def shard_of(company_key: str) -> str:
    """The shard of a company: the same on every machine and in every version of Python."""
    digest = hashlib.blake2b(company_key.encode("utf-8"), digest_size=8).digest()
    return SHARD_KEYS[int.from_bytes(digest, "big") % SHARD_COUNT]


def shards_of(company_keys: Iterable[str]) -> list[str]:
    """The distinct shards of these companies, in partition order."""
    return sorted({shard_of(key) for key in company_keys})
