"""Ingest: the client's leads file read and checked, then one enriched row per distinct
lead."""

from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetOut,
    MetadataValue,
    Output,
    asset,
    multi_asset,
)

from assets.metadata import counts_by
from pipeline.leads.records import for_client, with_first_seen
from pipeline.orchestration.resources import ClientDirectory, WarehouseReader
from pipeline.ranking.enrichment import enrich_leads


@multi_asset(
    outs={
        "raw_leads": AssetOut(
            description="One row per usable, distinct row of the client's leads file: "
            "`client`, the lead columns "
            "(read from the file's own header names, cells trimmed; `account_domain` the bare "
            "domain, `account_website` as written), the contact columns (`email`, `phone`, "
            "`linkedin_url`, `source_record_id`), `source_system`, `kept_columns`, "
            "`source_file`, `source_row` (the line the row starts on), `company_key`, a stable "
            "`lead_id` and `first_seen_at` (when the lead base first held the lead). "
            "Each run replaces the client's lead base with the file.",
            kinds={"csv", "duckdb"},
            owners=["team:sales-ops"],
            metadata={"partition_expr": "client"},
        ),
        "rejected_leads": AssetOut(
            description="The file's rows that did not become leads: `source_row`, `column`, "
            "`value` and `reason` (wrong number of fields, no company, no person, a report's "
            "total or footer line, the same person again).",
            kinds={"duckdb"},
            owners=["team:sales-ops"],
            metadata={"partition_expr": "client"},
        ),
        "suppression_list": AssetOut(
            description="The client's do-not-contact list, one row per entry: `kind` (email, "
            "linkedin, domain, company), `value` as written, `match_key`, `reason`, "
            "`source_file`, `source_row`. Empty without a list.",
            kinds={"csv", "duckdb"},
            owners=["team:sales-ops"],
            metadata={"partition_expr": "client"},
        ),
    },
    group_name="ingest",
)
def ingest_lead_file(
    context: AssetExecutionContext, clients: ClientDirectory, warehouse: WarehouseReader
) -> tuple[Output[pd.DataFrame], Output[pd.DataFrame], Output[pd.DataFrame]]:
    """Reads the client's leads file (CSV, Excel, gzip or zip) whatever its encoding,
    delimiter and column names, and its do-not-contact list; bad rows are set aside with the
    reason (or, with `strict`, fail the run). Both files are read before anything is
    written: a list that cannot be read stops the run, never a campaign without it."""
    client = context.partition_key
    source = clients.get(client)
    read = source.read_leads()
    suppression = source.read_suppression()
    context.log.info(f"Client {client}: read {source.leads}: {read.describe()}")
    if source.suppress:
        context.log.info(f"Client {client}: {len(suppression)} do-not-contact entries")
    stored = warehouse.client_rows("raw_leads", client, ["lead_id", "first_seen_at"])
    leads = with_first_seen(read.leads, stored, datetime.now(UTC))
    if not read.rejected.empty:
        context.log.warning(
            f"{len(read.rejected)} row(s) rejected, see rejected_leads: "
            + "; ".join(
                f"line {row.source_row}: {row.reason}"
                for row in read.rejected.head(5).itertuples(index=False)
            )
        )
    return (
        Output(
            for_client(leads, client),
            metadata={
                "client": client,
                "source_file": source.leads,
                "rows": len(read.leads),
                "companies": read.leads["company_key"].nunique(),
                # "encoding utf-8, comma-separated", "Excel sheet 'Leads'", "gzip: ...".
                "format": read.format,
                "encoding": read.encoding,
                "delimiter": repr(read.delimiter),
                "column_mapping": MetadataValue.json(read.columns),
                "header_row": read.header_row,
                "export_source": read.source or "not recognised",
                "new_leads": int((~leads["lead_id"].isin(stored["lead_id"])).sum()),
            },
        ),
        Output(
            for_client(read.rejected, client),
            metadata={"rows": len(read.rejected), "reasons": counts_by(read.rejected, "reason")},
        ),
        Output(
            for_client(suppression, client),
            metadata={"rows": len(suppression), "kinds": counts_by(suppression, "kind")},
        ),
    )


@asset(
    group_name="ingest",
    kinds={"duckdb"},
    owners=["team:sales-ops"],
    metadata={"partition_expr": "client"},
)
def enriched_leads(
    context: AssetExecutionContext, raw_leads: pd.DataFrame, clients: ClientDirectory
) -> Output[pd.DataFrame]:
    """One row per lead of `raw_leads` with `size_band` (by the client's persona) and what
    the title says: `title_role`, `title_seniority`, `title_departments`, `title_tags`,
    `title_flags`."""
    enriched = enrich_leads(raw_leads, clients.get(context.partition_key).load_persona())
    companies = enriched["company_key"].nunique()
    context.log.info(f"Companies: {companies}")
    return Output(
        enriched,
        metadata={
            "rows": len(enriched),
            "companies": companies,
            "leads_per_size_band": counts_by(enriched, "size_band"),
            "leads_per_seniority": counts_by(enriched, "title_seniority"),
        },
    )
