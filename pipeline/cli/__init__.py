"""`persona-ranker`: the command line. It ranks a leads file through the project's Dagster
definitions, the same the UI and the schedule load (`run`), scores a ranking (`eval`), serves
the Celery executor's steps (`workers`) and runs the smaller commands around them."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import nullcontext

import groq
import psycopg2

from pipeline.cli.arguments import parser, settings_from
from pipeline.cli.commands import dev, evaluate, list_batches, mock_groq, reader_access, workers
from pipeline.cli.ranking import run
from pipeline.leads.records import LeadsFileError
from pipeline.llm.batch.submission import BatchSubmitFailed
from pipeline.persona.spec import PersonaError
from pipeline.quality.labels import LabelsFileError
from pipeline.storage.stores import WarehouseUnreachable
from pipeline.terminal_progress import ProgressBar


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "dev":
        return dev()
    try:
        if args.command == "workers":
            return workers(args.concurrency, args.name)
        if args.command == "eval":
            labels = args.labels.expanduser().resolve() if args.labels else None
            return evaluate(settings_from(args), args.client, labels, args.k, args.loco, args.json)
        if args.command == "mock-groq":
            return mock_groq(args)
        if args.command in ("grant-reader", "revoke-reader"):
            return reader_access(args)
        if args.command == "batches":
            return list_batches(settings_from(args), args.client, args.cancel)
        # A bar for the model calls on a terminal; plain run log lines elsewhere.
        with ProgressBar() if sys.stderr.isatty() else nullcontext():
            return run(
                settings_from(args),
                args.client,
                args.all_clients,
                args.company,
                args.batch,
                args.wait,
            )
    except (
        LeadsFileError,
        LabelsFileError,
        PersonaError,
        ValueError,
        OSError,
        WarehouseUnreachable,
        psycopg2.Error,
        BatchSubmitFailed,
        groq.APIError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
