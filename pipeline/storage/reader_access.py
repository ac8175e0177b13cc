"""Each client's analysts read only their client's rows (PostgreSQL).

A reader is a PostgreSQL role mapped to one or more clients in `reader_clients`. Every table
and view with a `client` column is granted to it for SELECT, nothing else, and row-level
security keeps it to its clients' rows:

- the policy reads the role -> client mapping for `current_user`, never a session setting,
  which any session could set to another client;
- `FORCE ROW LEVEL SECURITY`: the owner is held to the policies too (its own policy lets it
  read and write every row), so no path through the owner's rights (a view, a function)
  shows a reader another client's rows;
- views read as the querying role (`security_invoker`, `pipeline.storage.views`);
- the mapping itself is under the same security: a reader sees its own rows of it only.

Tables made after a grant (a new table, one made again) are secured when they are written
(`secure_new_relations`).
"""

from __future__ import annotations

import re
from typing import Any

from psycopg2 import sql

MAPPING_TABLE = "reader_clients"
READER_POLICY = "client_readers"
WRITER_POLICY = "pipeline_writer"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ReaderAccessError(ValueError):
    """A grant or revoke that cannot be done; the message says why."""


def grant_reader(cursor: Any, schema: str, client: str, role: str, password: str | None) -> None:
    """Creates the role if absent (LOGIN; a password only when given) and lets it read the
    client's rows of every table and view of the schema."""
    _check_role_name(role)
    cursor.execute("select 1 from pg_roles where rolname = %s", [role])
    if cursor.fetchone() is None:
        statement = sql.SQL("create role {} login").format(sql.Identifier(role))
        if password:
            statement += sql.SQL(" password {}").format(sql.Literal(password))
        cursor.execute(statement)
    _create_mapping(cursor, schema)
    cursor.execute(
        sql.SQL(
            "insert into {}.{} (role_name, client) values (%s, %s) on conflict do nothing"
        ).format(sql.Identifier(schema), sql.Identifier(MAPPING_TABLE)),
        [role, client],
    )
    secure_new_relations(cursor, schema)


def revoke_reader(cursor: Any, schema: str, role: str, client: str | None) -> int:
    """Removes the role's access to one client, or to all; with no client left, every grant
    of the schema is revoked. The role itself stays (it may be used elsewhere). Returns the
    mappings removed."""
    _check_role_name(role)
    if not _relation_exists(cursor, schema, MAPPING_TABLE):
        return 0
    mapping = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(MAPPING_TABLE))
    if client is None:
        cursor.execute(sql.SQL("delete from {} where role_name = %s").format(mapping), [role])
    else:
        cursor.execute(
            sql.SQL("delete from {} where role_name = %s and client = %s").format(mapping),
            [role, client],
        )
    removed = int(cursor.rowcount)
    cursor.execute(sql.SQL("select 1 from {} where role_name = %s").format(mapping), [role])
    if cursor.fetchone() is None and _role_exists(cursor, role):
        identifier = sql.Identifier(role)
        cursor.execute(
            sql.SQL("revoke all on all tables in schema {} from {}").format(
                sql.Identifier(schema), identifier
            )
        )
        cursor.execute(
            sql.SQL("revoke usage on schema {} from {}").format(sql.Identifier(schema), identifier)
        )
    return removed


# The schema's tables and views with a `client` column, and the mapping table itself.
_CLIENT_RELATIONS = """
    select c.oid, c.relname, c.relkind, c.relrowsecurity, pg_get_userbyid(c.relowner) as owner
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = %(schema)s and c.relkind in ('r', 'v')
      and (c.relname = %(mapping)s or exists (
            select 1 from pg_attribute a
            where a.attrelid = c.oid and a.attname = 'client' and not a.attisdropped))
"""


def secure_new_relations(cursor: Any, schema: str) -> None:
    """Once any reader was granted: row-level security on every client table not yet under
    it, and SELECT on every client table and view for every reader that lacks it. When
    nothing is new, two catalog queries and no change."""
    if not _relation_exists(cursor, schema, MAPPING_TABLE):
        return
    names = {"schema": schema, "mapping": MAPPING_TABLE}
    cursor.execute(
        f"select relname, owner from ({_CLIENT_RELATIONS}) r "
        "where relkind = 'r' and not relrowsecurity",
        names,
    )
    for name, owner in cursor.fetchall():
        _secure_table(cursor, schema, name, owner)
    cursor.execute(
        sql.SQL(
            "select m.role_name, r.relname "
            "from (select distinct role_name from {}.{}) m "
            "join pg_roles p on p.rolname = m.role_name "
            f"cross join ({_CLIENT_RELATIONS}) r "
            "where not has_table_privilege(m.role_name, r.oid, 'SELECT')"
        ).format(sql.Identifier(schema), sql.Identifier(MAPPING_TABLE)),
        names,
    )
    for role, relation in cursor.fetchall():
        _grant_select(cursor, schema, relation, role)


def row_security_applies(cursor: Any, schema: str, table: str) -> bool:
    """Whether the policies hold the current role on this table (then PostgreSQL refuses
    COPY into it)."""
    cursor.execute(
        "select row_security_active(%s::regclass)",
        [sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table)).as_string(cursor)],
    )
    return bool(cursor.fetchone()[0])


def _secure_table(cursor: Any, schema: str, table: str, owner: str) -> None:
    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    mapping = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(MAPPING_TABLE))
    cursor.execute(sql.SQL("alter table {} enable row level security").format(target))
    cursor.execute(sql.SQL("alter table {} force row level security").format(target))
    reader_rows = (
        sql.SQL("role_name = current_user")
        if table == MAPPING_TABLE
        else sql.SQL(
            "client in (select m.client from {} m where m.role_name = current_user)"
        ).format(mapping)
    )
    cursor.execute(
        sql.SQL("create policy {} on {} for select using ({})").format(
            sql.Identifier(READER_POLICY), target, reader_rows
        )
    )
    cursor.execute(
        sql.SQL("create policy {} on {} for all to {} using (true) with check (true)").format(
            sql.Identifier(WRITER_POLICY), target, sql.Identifier(owner)
        )
    )


def _grant_select(cursor: Any, schema: str, relation: str, role: str) -> None:
    cursor.execute(
        sql.SQL("grant usage on schema {} to {}").format(
            sql.Identifier(schema), sql.Identifier(role)
        )
    )
    cursor.execute(
        sql.SQL("grant select on {}.{} to {}").format(
            sql.Identifier(schema), sql.Identifier(relation), sql.Identifier(role)
        )
    )


def _create_mapping(cursor: Any, schema: str) -> None:
    cursor.execute("select 1 from pg_namespace where nspname = %s", [schema])
    if cursor.fetchone() is None:
        raise ReaderAccessError(f"no schema {schema!r} in this database: run the pipeline first")
    cursor.execute(
        sql.SQL(
            "create table if not exists {}.{} (role_name text not null, client text not null, "
            "granted_at timestamp with time zone not null default now(), "
            "primary key (role_name, client))"
        ).format(sql.Identifier(schema), sql.Identifier(MAPPING_TABLE))
    )


def _check_role_name(role: str) -> None:
    if not _ROLE_NAME.match(role):
        raise ReaderAccessError(
            f"role {role!r}: use lower-case letters, digits and '_' (at most 63), "
            "starting with a letter or '_'"
        )


def _role_exists(cursor: Any, role: str) -> bool:
    cursor.execute("select 1 from pg_roles where rolname = %s", [role])
    return cursor.fetchone() is not None


def _relation_exists(cursor: Any, schema: str, name: str) -> bool:
    cursor.execute(
        "select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s",
        [schema, name],
    )
    return cursor.fetchone() is not None
