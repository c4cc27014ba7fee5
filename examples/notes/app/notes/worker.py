"""The worker part: `python3 -m notes.worker`. Takes pending jobs one at a time (SELECT ...
FOR UPDATE SKIP LOCKED: two workers never take the same job), counts the note's words,
marks the job done, in one transaction. SIGTERM (docker stop) lets the job in hand finish,
then exits 0: a replaced worker is drained, never cut off mid-job."""

from __future__ import annotations

import signal
import socket
import sys
import time

from . import db
from .features import extra

IDLE_POLL_S = 0.5
stopping = False


def stop(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    global stopping
    stopping = True


def words(text: str) -> int:
    return len(text.split())


def take_one(conn, me: str) -> bool:
    """Do one pending job; False when there is none."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT jobs.id, notes.id AS note_id, notes.body FROM jobs JOIN notes ON notes.id = jobs.note_id "
                       "WHERE jobs.state = 'pending' ORDER BY jobs.id LIMIT 1 FOR UPDATE SKIP LOCKED")
        job = cursor.fetchone()
        if job is None:
            conn.rollback()
            return False
        values = {"words": words(job["body"]), **extra(job["body"])}
        assignments = ", ".join(f"{column} = %s" for column in values)
        cursor.execute(f"UPDATE notes SET {assignments} WHERE id = %s", (*values.values(), job["note_id"]))
        cursor.execute("UPDATE jobs SET state = 'done', done_by = %s WHERE id = %s", (me, job["id"]))
    conn.commit()
    return True


def main() -> int:
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    me = socket.gethostname()
    print(f"worker {me}: started", flush=True)
    conn = None
    while not stopping:
        try:
            if conn is None:
                conn = db.connect(autocommit=False)
            if not take_one(conn, me):
                time.sleep(IDLE_POLL_S)
        except Exception as exc:  # noqa: BLE001 - the database went away: reconnect, keep the job pending
            print(f"worker {me}: {exc!r}; retrying", flush=True)
            conn = None
            time.sleep(1)
    print(f"worker {me}: stopped by a signal, no job in hand", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
