"""The local AWS's durable state: a write-ahead journal (SQLite, WAL) of messages, items and executions."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)
FILE_NAME = "journal.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, queue_arn TEXT NOT NULL, body TEXT NOT NULL, attributes TEXT NOT NULL,
    system_attributes TEXT NOT NULL, sent_ms INTEGER NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER, visible_at_ms REAL NOT NULL DEFAULT 0, delayed_until_ms REAL NOT NULL DEFAULT 0,
    group_id TEXT, deduplication_id TEXT, sequence_number TEXT);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue_arn, sent_ms);
CREATE TABLE IF NOT EXISTS queue_attributes (queue_arn TEXT PRIMARY KEY, attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    table_arn TEXT NOT NULL, key TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (table_arn, key));
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY, state_machine_arn TEXT NOT NULL, name TEXT NOT NULL, input TEXT NOT NULL,
    start REAL NOT NULL, state TEXT, state_input TEXT, status TEXT NOT NULL, stop REAL, error TEXT, cause TEXT);
CREATE INDEX IF NOT EXISTS executions_by_start ON executions (start);
"""


def journal_files(state_dir: Path) -> list[Path]:
    """The journal and SQLite's companions to it (write-ahead log, shared memory)."""
    return [state_dir / FILE_NAME, state_dir / f"{FILE_NAME}-wal", state_dir / f"{FILE_NAME}-shm"]


class Journal:
    """One SQLite connection; every write commits at once, and what was acknowledged is also on disk (fsync)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Commits reach the OS at once (they survive a kill -9); acknowledged ones are fsynced by _sync (a power cut).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._commits = self._synced = 0
        self._closed = False
        # SQLite keeps the -wal file (same inode) while a connection is open, so one descriptor can fsync it.
        self._wal = os.open(f"{path}-wal", os.O_RDONLY | os.O_CREAT, 0o644)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new files' names survive a power cut too
        finally:
            os.close(directory)

    def write(self, statements: Iterable[tuple[str, Iterable[Any]]]) -> None:
        """Apply the statements (SQL, rows) in one committed transaction (it survives a kill -9)."""
        with self._lock:
            if self._closed:
                return
            self._db.execute("BEGIN")
            try:
                for sql, rows in statements:
                    self._db.executemany(sql, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._commits += 1

    def sync(self) -> None:
        """Put every commit so far on disk (it survives a power cut): call before acknowledging."""
        commit = self._commits
        # Group commit: one fsync covers every commit made before it, so concurrent callers share it.
        with self._sync_lock:
            if self._synced >= commit or self._closed:
                return
            upto = self._commits
            os.fsync(self._wal)
            self._synced = upto

    def rows(self, sql: str, *params: Any) -> Iterator[sqlite3.Row]:
        """Read rows (restore, tests)."""
        with self._lock:
            if self._closed:
                return
            cursor = self._db.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            found = cursor.fetchall()
        yield from found

    def prune(self, keep_records: int, keep_seconds: float) -> None:
        """Drop finished executions beyond what the local AWS keeps (see compact_finished_executions)."""
        oldest = time.time() - keep_seconds
        self.write(
            [
                ("DELETE FROM executions WHERE status != 'RUNNING' AND start < ?", [(oldest,)]),
                (
                    "DELETE FROM executions WHERE arn IN (SELECT arn FROM executions WHERE status != 'RUNNING' "
                    "ORDER BY start DESC LIMIT -1 OFFSET ?)",
                    [(keep_records,)],
                ),
            ]
        )

    def close(self) -> None:
        """Stop recording (what happens during the rest of a shutdown is not the state to come back to)."""
        with self._lock, self._sync_lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                _log.exception("checkpointing the journal failed")
            os.close(self._wal)
            self._db.close()

    stop = close


def dumps(value: Any) -> str:
    """Compact JSON for journal columns."""
    return json.dumps(value, separators=(",", ":"), default=_bytes_as_text)


def _bytes_as_text(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
