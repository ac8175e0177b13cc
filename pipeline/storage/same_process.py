"""A step's table handed to the same run's later steps in the same process, instead of being
read back from the warehouse it was just written to.

Reading a million-row table back into pandas costs about a third of a second per text column;
a run read each table once or twice more after writing it. Every table is still written as
before (analysts, other processes and the next run read the warehouse); only a later step of
the same run in the same process (the in-process executor, `persona-ranker run`) takes the
frame the writing step returned, with the columns it asked for. A step in another process
(the multiprocess executor, a worker) reads the warehouse. The frames are the ones Dagster's
in-process execution keeps for its result anyway; those of an earlier run are let go when a
new run writes.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import pandas as pd
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbIOManager

# (asset key path, partition keys) -> the frame, for one run.
_TableKey = tuple[tuple[str, ...], tuple[str, ...]]


class RunObjects:
    """What one run's steps handed over in this process, by key; let go when another run
    hands something over."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self.objects: dict[Hashable, Any] = {}

    def keep(self, run_id: str, key: Hashable, obj: Any) -> None:
        if run_id != self.run_id:
            self.run_id, self.objects = run_id, {}
        self.objects[key] = obj

    def get(self, run_id: str, key: Hashable) -> Any | None:
        return self.objects.get(key) if run_id == self.run_id else None


_WRITTEN = RunObjects()


class SameProcessDbIOManager(DbIOManager):
    """Dagster's database IO manager, reading a table the same run wrote in this process from
    memory."""

    def handle_output(self, context: OutputContext, obj: object) -> None:
        super().handle_output(context, obj)
        if isinstance(obj, pd.DataFrame) and context.has_asset_key:
            _WRITTEN.keep(context.run_id, _table_key(context), obj)

    def load_input(self, context: InputContext) -> object:
        run_id = context.step_context.run_id
        frame = _WRITTEN.get(run_id, _table_key(context)) if context.has_asset_key else None
        if frame is None:
            return super().load_input(context)
        columns: Sequence[str] | None = (context.definition_metadata or {}).get("columns")
        # A shallow copy: with copy-on-write, a step changing its input changes its own copy.
        return frame[list(columns)] if columns else frame.copy(deep=False)


def _table_key(context: Any) -> _TableKey:
    partitions = tuple(context.asset_partition_keys) if context.has_asset_partitions else ()
    return tuple(context.asset_key.path), partitions
