"""Where the tables live: the DuckDB and PostgreSQL IO managers and what they share.

The DuckDB IO manager (`duckdb_warehouse`), the PostgreSQL one built the same way
(`postgres_warehouse`), a warehouse opened from a file path or a URL (`stores`), one
transaction per write (`transactions`), the analysts' views (`views`) and moving tables of an
older partitioning over (`layout_migration`).
"""
