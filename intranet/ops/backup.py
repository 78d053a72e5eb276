"""Backups that restore (issue 21): `diwan backup <dir>` and `diwan restore <dir>`.

A backup is a folder:

    manifest.json            what is there: backend, schema version, each table's row count, each file's SHA-256
    database.sqlite3         SQLite: a copy made with SQLite's online backup API (one step: one consistent
                             snapshot, while writers go on; WAL lets them)
    database.pgdump          PostgreSQL: pg_dump's custom format, taken in the snapshot the row counts were read in
                             (a REPEATABLE READ transaction exports it; pg_dump --snapshot uses it)
    attachments/...          ATTACHMENT_DIR
    payout-files/...         PAYOUT_ARCHIVE_DIR (the released bank files)
    reports/...              REPORT_ARCHIVE_DIR (archived PDFs and the audit anchors)

The database is copied first and the folders after: a file is written before the row naming it commits, and
attachments, bank files and reports are never changed once written, so every file a backed-up row names is in
the backup (a few newer ones may be too; the daily orphan sweep, which deletes only files older than a day that no
row names, cannot remove one a backed-up row names). The manifest is written last: a folder without one is not a
backup. Each file's SHA-256 is computed from the bytes copied.

Not in a backup, on purpose: the secret key and the audit key (INTRANET_SECRET_KEY / INTRANET_AUDIT_KEY or
instance/secret_key and instance/audit_key). The audit key must never sit beside the database it protects; keep
both keys in their own safe place and give the restored instance the same ones, or the audit chains cannot be
verified and every session ends. The job queue (huey.db or Redis) is not backed up either: every job's row is in
the database and the minute's sweepers start what a lost queue held.

`restore` refuses unless the instance is empty (no table in its database, no file in the three folders) and the
backup is whole: the manifest's every checksum is verified before anything is written. Then the database is
restored (SQLite: the backup API again; PostgreSQL: pg_restore in one transaction), the files copied and checked,
and each table's row count compared with the manifest.
"""
import datetime as dt
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import psycopg
from flask import current_app

from intranet import db

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
CHUNK = 1024 * 1024


def folders(config) -> dict[str, Path]:
    """The backed-up folders, by their name in a backup."""
    return {"attachments": Path(config["ATTACHMENT_DIR"]), "payout-files": Path(config["PAYOUT_ARCHIVE_DIR"]),
            "reports": Path(config["REPORT_ARCHIVE_DIR"])}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and nothing was changed by restore."""


def _backend(url: str) -> str:
    if url.startswith("sqlite:///"):
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    raise BackupError(f"cannot back up a database at {url!r}: only sqlite:/// and postgresql:// are supported")


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: from PATH (Debian's wrapper picks the cluster's version), else the newest installed
    under /usr/lib/postgresql (as tests/servers.py finds the server's binaries)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    if not found:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy(source: Path, target: Path) -> tuple[str, int]:
    """Copy a file, hashing the bytes copied; (sha256, size)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copystat(source, target)
    return digest.hexdigest(), size


def _files_under(folder: Path):
    """The files below `folder`, as paths relative to it, in a stable order."""
    if not folder.is_dir():
        return []
    return sorted(path.relative_to(folder) for path in folder.rglob("*") if path.is_file())


# --- counts --------------------------------------------------------------------------------------------------------

def _sqlite_counts(connection) -> tuple[dict, int]:
    names = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    counts = {name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
    version = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] \
        if "schema_version" in counts else 0
    return counts, version or 0


def _pg_counts(execute) -> tuple[dict, int]:
    names = [row[0] for row in execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")]
    counts = {name: execute(f'SELECT COUNT(*) FROM "{name}"')[0][0] for name in names}
    version = execute("SELECT MAX(version) FROM schema_version")[0][0] if "schema_version" in counts else 0
    return counts, version or 0


# --- backup --------------------------------------------------------------------------------------------------------

def _backup_sqlite(url: str, target: Path) -> tuple[dict, int]:
    source_path = _sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"the database {source_path} does not exist")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one read transaction, a consistent snapshot
        return _sqlite_counts(copy)
    finally:
        copy.close()
        source.close()


def _backup_postgresql(url: str, target: Path) -> tuple[dict, int]:
    with psycopg.connect(url) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.transaction():
            snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
            counted = _pg_counts(lambda sql: connection.execute(sql).fetchall())
            done = subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl",
                                   f"--snapshot={snapshot}", "--file", str(target), "--dbname", url],
                                  capture_output=True, text=True)
            if done.returncode:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return counted


def backup(target: Path) -> dict:
    """Write a backup of this instance into `target` (absent or an empty folder); the manifest."""
    config = current_app.config
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not an empty folder: a backup goes into a new one")
    target.mkdir(parents=True, exist_ok=True)
    url = config["DATABASE_URL"]
    backend = _backend(url)
    started = dt.datetime.now(dt.timezone.utc)
    database_file = target / (SQLITE_FILE if backend == "sqlite" else PG_FILE)
    counts, version = (_backup_sqlite if backend == "sqlite" else _backup_postgresql)(url, database_file)
    files = {}
    for name, folder in folders(config).items():
        for relative in _files_under(folder):
            try:
                sha, size = _copy(folder / relative, target / name / relative)
            except FileNotFoundError:  # removed while we walked: no backed-up row names it
                continue
            files[(Path(name) / relative).as_posix()] = {"sha256": sha, "size": size}
    manifest = {
        "format": FORMAT, "backend": backend, "schema_version": version,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "database": {"file": database_file.name, "sha256": sha256_of(database_file),
                     "size": database_file.stat().st_size},
        "counts": counts, "files": files,
    }
    partial = target / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    partial.replace(target / MANIFEST)
    return manifest


# --- restore -------------------------------------------------------------------------------------------------------

def read_manifest(source: Path) -> dict:
    path = Path(source) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(f"{path} is missing: {source} is not a complete backup") from None
    except ValueError:
        raise BackupError(f"{path} is not readable JSON") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is of format {manifest.get('format')!r}; this version reads format {FORMAT}")
    return manifest


def verify(source: Path, manifest: dict | None = None) -> list[str]:
    """Every checksum of the manifest against the backup's files: the problems found (empty: whole)."""
    source = Path(source)
    manifest = manifest or read_manifest(source)
    problems = []
    listed = {manifest["database"]["file"]: manifest["database"]["sha256"],
              **{name: entry["sha256"] for name, entry in manifest["files"].items()}}
    known = ("attachments", "payout-files", "reports")
    for name, expected in listed.items():
        path = source / name
        parts = Path(name).parts
        if ".." in parts or Path(name).is_absolute() or (name != manifest["database"]["file"]
                                                           and (len(parts) < 2 or parts[0] not in known)):
            problems.append(f"{name}: not a file of a backed-up folder")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_of(path) != expected:
            problems.append(f"{name}: checksum differs from the manifest")
    return problems


def _table_counts() -> dict:
    with db.database.connection_context():
        if db.is_sqlite():
            return _sqlite_counts(db.database.connection())[0]
        return _pg_counts(lambda sql: db.database.execute_sql(sql).fetchall())[0]


def _not_empty(config) -> list[str]:
    found = []
    url = config["DATABASE_URL"]
    if _backend(url) == "sqlite" and not _sqlite_path(url).exists():
        tables = []  # not even the file yet (not created by looking)
    else:
        with db.database.connection_context():
            tables = db.database.get_tables()
    if tables:
        found.append(f"the database already has {len(tables)} tables")
    for folder in folders(config).values():
        if _files_under(folder):
            found.append(f"{folder} already holds files")
    return found


def restore(source: Path) -> dict:
    """Restore the backup in `source` into this (empty) instance; the manifest. Raises BackupError, having written
    nothing, when the backup is not whole or the instance not empty."""
    config = current_app.config
    source = Path(source)
    manifest = read_manifest(source)
    backend = _backend(config["DATABASE_URL"])
    if manifest["backend"] != backend:
        raise BackupError(f"the backup is of a {manifest['backend']} database and this instance uses {backend}")
    if problems := verify(source, manifest):
        raise BackupError("the backup is damaged: " + "; ".join(problems[:10])
                          + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""))
    if occupied := _not_empty(config):
        raise BackupError("restore goes into an empty instance only: " + "; ".join(occupied))
    database_file = source / manifest["database"]["file"]
    if backend == "sqlite":
        db.database.close_idle()  # the emptiness check's connection: the file is written by another one now
        path = _sqlite_path(config["DATABASE_URL"])
        path.parent.mkdir(parents=True, exist_ok=True)
        copy, target = sqlite3.connect(database_file), sqlite3.connect(path)
        try:
            copy.backup(target)
        finally:
            target.close()
            copy.close()
    else:
        done = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error",
                               "--single-transaction", "--dbname", config["DATABASE_URL"], str(database_file)],
                              capture_output=True, text=True)
        if done.returncode:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    into = folders(config)
    for name, entry in manifest["files"].items():
        folder_name, _, relative = name.partition("/")
        if folder_name not in into or not relative or ".." in Path(relative).parts:
            raise BackupError(f"{name}: not a file of a backed-up folder")
        target = into[folder_name] / relative
        if _copy(source / name, target)[0] != entry["sha256"]:
            raise BackupError(f"{name}: the copy does not match its checksum ({target})")
    counts = _table_counts()
    if counts != manifest["counts"]:
        differing = sorted(name for name in set(counts) | set(manifest["counts"])
                           if counts.get(name) != manifest["counts"].get(name))
        raise BackupError(f"the restored row counts differ from the manifest in: {', '.join(differing)}")
    return manifest
