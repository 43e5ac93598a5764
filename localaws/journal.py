"""The local AWS's durable state: a write-ahead journal (SQLite in WAL mode) written by a process of its own. It keeps
batching, ordering and fsync; what is in it is each service's own (services declare their Tables)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)
FILE_NAME = "journal.db"


class JournalError(RuntimeError):
    """What was to be acknowledged could not be recorded: the request fails instead of being answered."""


@dataclass(frozen=True)
class Tables:
    """The tables a service keeps in the journal: their schema (CREATE ... IF NOT EXISTS statements), and the columns
    added since a journal was first made with them (table, column, type), added to an older file when it opens."""

    schema: str
    added_columns: tuple[tuple[str, str, str], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The tables the schema makes."""
        return tuple(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", self.schema))


_unacknowledged = threading.local()


@contextlib.contextmanager
def unacknowledged() -> Iterator[None]:
    """Writes made inside (the local AWS's own telemetry) are answered to no client: sync() does not wait for them."""
    _unacknowledged.active = True
    try:
        yield
    finally:
        _unacknowledged.active = False


def journal_files(state_dir: Path) -> list[Path]:
    """The journal and SQLite's companions to it (write-ahead log, shared memory)."""
    return [state_dir / FILE_NAME, state_dir / f"{FILE_NAME}-wal", state_dir / f"{FILE_NAME}-shm"]


class Journal:
    """A write-ahead journal whose writes are batched to a writer process; what was acknowledged is on disk before
    the answer.

    SQLite and the fsync run in a process of their own: in the local AWS's one interpreter, the writer thread waited
    for the interpreter lock after every row and every fsync (15 ms to apply what takes 0.6 ms of CPU), and every
    acknowledged request waited for that. The writer process answers each batch in one message.
    """

    def __init__(self, path: Path, tables: Iterable[Tables]) -> None:
        self._writer_process = subprocess.Popen(
            [sys.executable, "-m", "localaws.journal", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            # Out of the local AWS's process group: a Ctrl-C there must not end it before the last batch; it ends
            # when the journal closes, or when its pipe does (the local AWS is gone).
            start_new_session=True,
            env=os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))},
        )
        try:
            _send(self._writer_process.stdin.fileno(), [(t.schema, t.added_columns) for t in tables])
            ready = _receive(self._writer_process.stdout.fileno()) == _READY
        except (OSError, EOFError):
            ready = False
        if not ready:
            self._writer_process.kill()
            raise JournalError(f"the journal's writer process could not open {path}")
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)  # reads only
        self._db_lock = threading.Lock()
        self._changed = threading.Condition()
        self._pending: list[tuple[str, list[Any]]] = []
        self._queued = self._applied = self._synced = self._sync_wanted = 0  # counts of write() calls
        self._closing = self._exchanging = False
        self._failed_through = -1  # the newest write in a batch that could not be recorded (disk full, ...)
        self._writer = threading.Thread(target=self._write_loop, name="local-aws-journal", daemon=True)
        self._writer.start()

    def write(self, statements: Iterable[tuple[str, Iterable[Any]]]) -> None:
        """Queue statements (SQL, rows): committed in order within milliseconds; sync() waits until on disk."""
        statements = [(sql, list(rows)) for sql, rows in statements]
        with self._changed:
            if self._closing:
                return
            self._pending.extend(statements)
            self._queued += 1
            if getattr(_unacknowledged, "active", False):
                self._changed.notify_all()  # nobody will sync it: the journal's thread takes it now

    def sync(self) -> None:
        """Wait until every write so far is committed and on disk: call before acknowledging (not inside
        unacknowledged(), where it returns at once)."""
        if not getattr(_unacknowledged, "active", False):
            self._wait(durable=True)

    def flush(self) -> None:
        """Wait until every write so far is committed (another reader of the file sees it)."""
        self._wait(durable=False)

    def _wait(self, durable: bool) -> None:
        with self._changed:
            target, failed_before = self._queued, self._failed_through
            if durable:
                self._sync_wanted = max(self._sync_wanted, target)
            while not self._closing and (self._synced if durable else self._applied) < target:
                # The waiting thread talks to the writer process itself when nobody else is: handing the batch to
                # the journal's thread cost two more waits for the interpreter lock, each up to its switch interval.
                if self._exchanging:
                    self._changed.wait()
                else:
                    self._exchange_pending()
            if durable and self._failed_through >= target and self._failed_through != failed_before:
                raise JournalError("the local AWS could not record this request; see its log")

    def _write_loop(self) -> None:
        # Commits what nobody waits for (the telemetry's writes) within milliseconds, and what is left at close.
        with self._changed:
            while True:
                if not self._exchanging and (self._pending or self._sync_wanted > self._synced):
                    self._exchange_pending()
                elif self._closing and not self._exchanging:
                    return
                else:
                    # Writes to be synced are not announced: their writer sends them (durably) a moment later.
                    self._changed.wait(_UNSYNCED_WRITES_SECONDS)

    def _exchange_pending(self) -> None:
        """With the lock held and no exchange under way: send everything queued (group commit: one transaction, and
        one fsync for every sync() waiting), releasing the lock meanwhile, and record the answer."""
        batch, self._pending = self._pending, []
        upto, durable = self._queued, self._sync_wanted > self._synced
        self._exchanging = True
        self._changed.release()
        try:
            recorded = self._exchange((batch, durable))
        finally:
            self._changed.acquire()
            self._exchanging = False
        self._failed_through = upto if not recorded else self._failed_through
        self._applied = upto
        self._synced = upto if durable else self._synced
        self._changed.notify_all()

    def _exchange(self, message: Any) -> bool:
        """Send one message to the writer process; whether it recorded it."""
        try:
            _send(self._writer_process.stdin.fileno(), message)
            answer = _receive(self._writer_process.stdout.fileno())
        except (OSError, EOFError, pickle.UnpicklingError):
            answer = None
        if answer is None:
            _log.error("the journal's writer process is gone (exit status %s)", self._writer_process.poll())
        return answer is True

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Rows of a query, once every write so far is committed."""
        self.flush()
        with self._db_lock:
            if self._closing:
                return []
            cursor = self._db.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    def close(self) -> None:
        """Commit what is queued and stop recording (the rest of a shutdown is not the state to come back to)."""
        with self._changed:
            if self._closing:
                return
            self._closing = True
            self._changed.notify_all()
        self._writer.join()
        with self._changed:
            while self._exchanging:  # a sync() caller's, begun before the close
                self._changed.wait()
        with self._db_lock:
            self._db.close()
        self._exchange(_CLOSE)  # the writer process checkpoints the file and ends
        self._writer_process.stdin.close()
        self._writer_process.wait()
        self._writer_process.stdout.close()

    stop = close


_ROOT = Path(__file__).resolve().parents[1]  # where the localaws package is
_READY, _CLOSE = "ready", "close"
_UNSYNCED_WRITES_SECONDS = 0.05  # the longest a write nobody syncs waits to be committed


def _send(fd: int, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int) -> Any:
    # Raw reads: a message usually arrives in one, and each read waits once for the interpreter lock.
    received = bytearray()
    while len(received) < 8 or len(received) < 8 + int.from_bytes(received[:8], "little"):
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise EOFError
        received += chunk
    return pickle.loads(received[8:])  # noqa: S301 - our own process, over a pipe


def _open(path: Path, tables: list[tuple[str, tuple[tuple[str, str, str], ...]]]) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    # A commit is in the OS's hands at once (it survives a kill -9); a durable batch is also fsynced (a power cut).
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=10000")  # the writer of a local AWS killed a moment ago may still be finishing
    for schema, added_columns in tables:
        db.executescript(schema)
        for table, column, kind in added_columns:
            if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    return db


def _serve(path: Path) -> None:
    """The writer process: apply each batch in one transaction, fsync it when asked, answer whether it is recorded;
    end when its parent closes the journal or is gone."""
    requests, answers = sys.stdin.fileno(), sys.stdout.fileno()
    try:
        db = _open(path, _receive(requests))  # the first message: the services' tables
        # SQLite keeps the -wal file (same inode) while a connection is open, so one descriptor can fsync it.
        wal = os.open(f"{path}-wal", os.O_RDONLY | os.O_CREAT, 0o644)
        directory = os.open(path.parent, os.O_RDONLY)
        os.fsync(directory)  # the new files' names survive a power cut too
        os.close(directory)
    except (OSError, EOFError, sqlite3.Error):
        _log.exception("the journal %s could not be opened", path)
        _send(answers, "failed")
        return
    _send(answers, _READY)
    while True:
        try:
            message = _receive(requests)
        except EOFError:
            return
        if message == _CLOSE:
            try:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                _log.exception("checkpointing the journal failed")
            os.close(wal)
            db.close()
            _send(answers, True)
            return
        batch, durable = message
        recorded = _apply(db, batch)
        if durable and recorded:
            try:
                os.fsync(wal)
            except OSError:
                _log.exception("the journal could not be synced to disk")
                recorded = False
        _send(answers, recorded)


def _apply(db: sqlite3.Connection, batch: list[tuple[str, list[Any]]]) -> bool:
    if not batch:
        return True
    try:
        db.execute("BEGIN")
        for sql, rows in batch:
            db.executemany(sql, rows)
        db.execute("COMMIT")
    except sqlite3.Error:
        _log.exception("the journal could not record %d statements", len(batch))
        if db.in_transaction:
            db.execute("ROLLBACK")
        return False
    return True


def dumps(value: Any) -> str:
    """Compact JSON for journal columns."""
    return json.dumps(value, separators=(",", ":"), default=_bytes_as_text)


def _bytes_as_text(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s journal writer: %(message)s")
    _serve(Path(sys.argv[1]))
