"""SQLite store (stdlib ``sqlite3``): the embedded default; survives restarts.

Every call runs on one OS thread through ``Offloader``, so the hub never blocks on
the disk and the single connection is never used from two threads at once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rtm_actors.runtime.offload import Offloader
from rtm_actors.store.base import OfflinePolicy, StoredMessage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS offline_messages (
    store_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      TEXT NOT NULL,
    receiver_id TEXT NOT NULL,
    sender_id   TEXT NOT NULL,
    message_id  INTEGER NOT NULL,
    kind        INTEGER NOT NULL,
    text        TEXT NOT NULL,
    raw         BLOB,
    ts          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS offline_by_receiver
    ON offline_messages (app_id, receiver_id, store_id);
"""


class SqliteOfflineStore:
    """Offline messages in one SQLite file."""

    def __init__(self, path: str | Path, policy: OfflinePolicy | None = None) -> None:
        self.policy = policy or OfflinePolicy()
        self.path = str(path)
        self._offload = Offloader(threads=1)
        self._db: sqlite3.Connection = self._offload.run(self._open)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db

    def push(self, app_id: str, receiver_id: str, message: StoredMessage) -> bool:
        """Insert unless the receiver's queue is full; say whether it was kept."""
        return self._offload.run(self._push, app_id, receiver_id, message)

    def _push(self, app_id: str, receiver_id: str, m: StoredMessage) -> bool:
        with self._db:
            # The write lock is taken before counting: another process on the same
            # file cannot take the last place between the count and the insert.
            self._db.execute("BEGIN IMMEDIATE")
            (kept,) = self._db.execute(
                "SELECT COUNT(*) FROM offline_messages WHERE app_id = ? AND receiver_id = ?",
                (app_id, receiver_id),
            ).fetchone()
            if kept >= self.policy.max_per_receiver:
                return False
            self._db.execute(
                "INSERT INTO offline_messages (app_id, receiver_id, sender_id, message_id,"
                " kind, text, raw, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (app_id, receiver_id, m.sender_id, m.message_id, m.kind, m.text, m.raw, m.ts),
            )
            return True

    def fetch(self, app_id: str, receiver_id: str, now_ms: int) -> list[StoredMessage]:
        """Unexpired messages, oldest first; expired ones are deleted on the way."""
        return self._offload.run(self._fetch, app_id, receiver_id, now_ms)

    def _fetch(self, app_id: str, receiver_id: str, now_ms: int) -> list[StoredMessage]:
        oldest = now_ms - int(self.policy.ttl_s * 1000)
        self._db.execute(
            "DELETE FROM offline_messages WHERE app_id = ? AND receiver_id = ? AND ts < ?",
            (app_id, receiver_id, oldest),
        )
        rows = self._db.execute(
            "SELECT sender_id, message_id, kind, text, raw, ts, store_id FROM offline_messages"
            " WHERE app_id = ? AND receiver_id = ? ORDER BY store_id",
            (app_id, receiver_id),
        ).fetchall()
        return [StoredMessage(*row) for row in rows]

    def delete(self, app_id: str, receiver_id: str, store_ids: list[int]) -> None:
        """Remove delivered messages."""
        if store_ids:
            self._offload.run(self._delete, app_id, receiver_id, store_ids)

    def _delete(self, app_id: str, receiver_id: str, store_ids: list[int]) -> None:
        marks = ",".join("?" * len(store_ids))
        self._db.execute(
            f"DELETE FROM offline_messages WHERE app_id = ? AND receiver_id = ?"
            f" AND store_id IN ({marks})",
            (app_id, receiver_id, *store_ids),
        )

    def count(self, app_id: str, receiver_id: str) -> int:
        """How many are kept."""
        row = self._offload.run(
            lambda: self._db.execute(
                "SELECT COUNT(*) FROM offline_messages WHERE app_id = ? AND receiver_id = ?",
                (app_id, receiver_id),
            ).fetchone()
        )
        return int(row[0])

    def total(self) -> int:
        """How many are kept for all receivers (the metrics gauge)."""
        row = self._offload.run(
            lambda: self._db.execute("SELECT COUNT(*) FROM offline_messages").fetchone()
        )
        return int(row[0])

    def close(self) -> None:
        """Close the database and its thread."""
        self._offload.run(self._db.close)
        self._offload.close()
