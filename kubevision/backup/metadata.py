"""Consistent copies of the metadata database, and putting one back.

SQLite is copied with its online backup API; PostgreSQL with ``pg_dump`` inside a
repeatable-read transaction whose snapshot is exported, so the dump, the row counts and the
list of blobs all describe the same instant while the system keeps running.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, select, text, union_all

from kubevision.backup import BackupToolFailed, TargetNotEmpty
from kubevision.db.engine import create_db_engine
from kubevision.db.schema import derivatives, images, metadata

FILE_NAMES = {"sqlite": "metadata.sqlite", "postgresql": "metadata.pgdump"}


@dataclass(frozen=True)
class DatabaseCopy:
    path: Path
    dialect: str
    schema_revision: str
    counts: dict[str, int]
    blobs: dict[str, int]


def copy_database(engine: Engine, folder: Path) -> DatabaseCopy:
    """A consistent copy of the database in `folder`, described."""
    dialect = engine.dialect.name
    path = folder / FILE_NAMES[dialect]
    if dialect == "sqlite":
        _sqlite_copy(_sqlite_path(engine), path)
        copy_engine = create_db_engine(f"sqlite:///{path}")
        try:
            with copy_engine.connect() as connection:
                return DatabaseCopy(path, dialect, *_describe(connection))
        finally:
            copy_engine.dispose()

    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            _run_pg_tool(engine, ["pg_dump", "--format=custom", "--no-owner",
                                  "--no-privileges", f"--snapshot={snapshot}", f"--file={path}"])
            return DatabaseCopy(path, dialect, *_describe(connection))


def describe_database(engine: Engine) -> tuple[str, dict[str, int], dict[str, int]]:
    """Schema revision, rows per table and blobs referenced, of a live database."""
    with engine.connect() as connection:
        return _describe(connection)


def _describe(connection: Connection) -> tuple[str, dict[str, int], dict[str, int]]:
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    counts = {table.name: int(connection.execute(
        select(func.count()).select_from(table)).scalar_one())
        for table in metadata.sorted_tables}
    sizes = union_all(select(images.c.sha256, images.c.size_bytes),
                      select(derivatives.c.sha256, derivatives.c.size_bytes))
    blobs = {row[0]: int(row[1]) for row in connection.execute(sizes)}
    return str(revision), counts, blobs


def nonempty_tables(engine: Engine) -> list[str]:
    """Our tables that hold rows; tables not created yet count as empty."""
    present = set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        return [table.name for table in metadata.sorted_tables if table.name in present
                and connection.execute(select(func.count()).select_from(table)).scalar_one()]


def restore_database(engine: Engine, path: Path) -> None:
    """Put the copy back into the (empty, checked by the caller) database."""
    full = nonempty_tables(engine)
    if full:
        raise TargetNotEmpty(f"the target database has rows in {', '.join(full)}; restore "
                             "only fills an empty database")
    if engine.dialect.name == "sqlite":
        target = _sqlite_path(engine)
        engine.dispose()
        _sqlite_copy(path, target)
        return
    # The target may hold our tables already, empty (a `kubevision migrate` ran): --clean
    # drops them first, and one transaction means a failure leaves the database as it was.
    _run_pg_tool(engine, ["pg_restore", "--clean", "--if-exists", "--no-owner",
                          "--no-privileges", "--single-transaction", "--exit-on-error",
                          str(path)])


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise TargetNotEmpty(f"SQLite database {engine.url} is not a file")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _run_pg_tool(engine: Engine, argv: list[str]) -> None:
    url = engine.url
    # Connection details go through libpq's environment, so the password is never on a
    # command line that `ps` would show.
    env = {**os.environ, "PGHOST": url.host or "localhost", "PGPORT": str(url.port or 5432),
           "PGUSER": url.username or "", "PGDATABASE": url.database or ""}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if argv[0] == "pg_restore":
        argv = [*argv[:-1], f"--dbname={url.database}", argv[-1]]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupToolFailed(f"{argv[0]} is not installed; install the PostgreSQL client "
                               "tools (Debian: postgresql-client)") from exc
    if done.returncode != 0:
        raise BackupToolFailed(f"{argv[0]} exited with {done.returncode}: "
                               f"{done.stderr.strip()}")
