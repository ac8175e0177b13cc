"""The CLI's progress bars, drawn on a terminal from progress events
(`pipeline.llm.progress.PROGRESS_EVENTS`): the model calls of an evaluation, the lines of the
batches `--wait` follows. The run log's lines print above them."""

from __future__ import annotations

import logging
import os
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pipeline.llm.progress import PROGRESS_EVENTS, ProgressSnapshot


class ProgressBar(logging.Handler):
    """One bar per evaluation or wait: done of total, the detail, time spent and left."""

    def __init__(self, console: Console | None = None) -> None:
        super().__init__()
        # A copy of the terminal's stderr, closed with the bar: while a step runs, Dagster
        # points file descriptor 2 at its captured-logs file (copied to the terminal by another
        # process), where the bar could neither tell it is on a terminal nor move the cursor.
        self._terminal = None if console else os.fdopen(os.dup(2), "w")
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            # Everything else written to sys.stderr meanwhile prints above the bar.
            console=console or Console(file=self._terminal, force_terminal=True),
            transient=True,
        )
        self._tasks: dict[float, TaskID] = {}

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        PROGRESS_EVENTS.addHandler(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        PROGRESS_EVENTS.removeHandler(self)
        self.progress.stop()
        if self._terminal is not None:
            self._terminal.close()

    def emit(self, record: logging.LogRecord) -> None:
        snapshot = getattr(record, "snapshot", None)
        if not isinstance(snapshot, ProgressSnapshot):
            return
        if snapshot.started not in self._tasks:
            self._tasks[snapshot.started] = self.progress.add_task(
                snapshot.label, total=snapshot.total, detail=""
            )
        self.progress.update(
            self._tasks[snapshot.started],
            completed=snapshot.done,
            total=snapshot.total,
            detail=snapshot.detail,
        )
