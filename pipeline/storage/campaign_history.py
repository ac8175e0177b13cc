"""`campaign_history`: every run's campaign, the rows as the campaign file held them, so the
next run can say what is new and what left (`pipeline.campaign.changes`).

Rows are only added: one run's campaign is written once (a run recorded again replaces its
own rows), and nothing else is changed. Each row carries its client, so readers' row-level
security covers it like every other table.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from dagster._core.storage.db_io_manager import TableSlice

from pipeline.ranking.ranked_table import CAMPAIGN_COLUMNS
from pipeline.storage.postgres_warehouse import copy_rows, frame_from_cursor
from pipeline.storage.stores import Warehouse, create_tables
from pipeline.storage.views import quoted

HISTORY_TABLE = "campaign_history"
_NUMBERS = frozenset({"company_rank", "relevance_score"})
_COLUMNS = (
    "client text not null",
    "run_id text not null",
    "recorded_at timestamp not null",
    *(f"{name} {'bigint' if name in _NUMBERS else 'text'}" for name in CAMPAIGN_COLUMNS),
)


class CampaignHistory:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._table = f"{quoted(warehouse.schema)}.{quoted(HISTORY_TABLE)}"

    def last_campaign(self, client: str, before_run: str) -> tuple[pd.DataFrame, datetime | None]:
        """The client's latest campaign recorded by another run than `before_run`, and when;
        no rows and no time before the first."""
        mark = self.warehouse.placeholder
        with self.warehouse.transaction() as cursor:
            create_tables(cursor, self.warehouse.schema, {HISTORY_TABLE: _COLUMNS})
            cursor.execute(
                f"select run_id, recorded_at from {self._table} "
                f"where client = {mark} and run_id <> {mark} "
                "order by recorded_at desc limit 1",
                [client, before_run],
            )
            found = cursor.fetchall()
            if not found:
                return pd.DataFrame(columns=list(CAMPAIGN_COLUMNS)), None
            run_id, recorded_at = found[0]
            cursor.execute(
                f"select {', '.join(CAMPAIGN_COLUMNS)} from {self._table} "
                f"where client = {mark} and run_id = {mark} order by company_key, company_rank",
                [client, run_id],
            )
            rows = frame_from_cursor(cursor) if self.warehouse.is_postgres else cursor.df()
        return rows.fillna(""), recorded_at

    def record(self, client: str, run_id: str, at: datetime, rows: pd.DataFrame) -> None:
        """The run's campaign, in one transaction."""
        frame = rows[list(CAMPAIGN_COLUMNS)].assign(
            client=client, run_id=run_id, recorded_at=at.replace(tzinfo=None)
        )[["client", "run_id", "recorded_at", *CAMPAIGN_COLUMNS]]
        mark = self.warehouse.placeholder
        with self.warehouse.transaction() as cursor:
            create_tables(cursor, self.warehouse.schema, {HISTORY_TABLE: _COLUMNS})
            cursor.execute(
                f"delete from {self._table} where client = {mark} and run_id = {mark}",
                [client, run_id],
            )
            if self.warehouse.is_postgres:
                copy_rows(cursor, TableSlice(HISTORY_TABLE, self.warehouse.schema), frame)
            else:
                cursor.register("history_rows", frame)
                cursor.execute(f"insert into {self._table} by name select * from history_rows")
                cursor.unregister("history_rows")
