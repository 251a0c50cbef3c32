"""How the SLA tick scales: with N open requests of which 100 are due, one tick versus the bare
indexed SELECT of those 100 rows, measured in the same run.

    .venv/bin/python bench/sla_tick.py                        # SQLite, 100,000 open requests
    .venv/bin/python bench/sla_tick.py --open 1000000
    .venv/bin/python bench/sla_tick.py --database postgresql+psycopg://postgres@127.0.0.1:5432/chamber_bench

The database is built from the migrations, filled with synthetic rows (no personal data), and
left in place for the next run (it is rebuilt when the size differs). Redis is not needed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="cc-bench-"))

from _schema import fresh_schema
from sqlalchemy import delete, func, insert, select, text, update

from chamber_callback import create_app
from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, CallbackRequest, Escalation, Notification
from chamber_callback.services.sla import sla_tick

DUE = 100
CHUNK = 20_000


def build(open_count: int, now: datetime) -> None:
    """Fresh schema from the migrations, then open_count waiting requests, DUE of them due."""
    fresh_schema()
    common = {"status": "queued", "name": "Synthetic", "business_name": "Synthetic", "sector": "services",
              "postal_code": "75011", "departement_code": "75", "unit_id": 1, "topic_id": 1,
              "description": "synthetic row", "urgent": False, "channel": "api", "consent_at": now,
              "failed_attempts": 0, "priority": 0}
    for start in range(0, open_count, CHUNK):
        rows = []
        for i in range(start, min(open_count, start + CHUNK)):
            # Most requests were just submitted (first level due in hours); DUE of them are due now.
            submitted = now - timedelta(hours=13) if i < DUE else now - timedelta(minutes=i % 600)
            rows.append({**common, "reference": f"{i:09d}", "token_digest": f"{i:064x}", "phone": f"+3319{i:08d}",
                         "submitted_at": submitted, "queued_at": submitted,
                         "sla_deadline": submitted + timedelta(hours=24),
                         "next_escalation_at": submitted + timedelta(hours=12)})
        db.session.execute(insert(CallbackRequest), rows)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def reset(now: datetime) -> None:
    """Undo a tick: the same DUE rows are due again."""
    db.session.execute(delete(Notification))
    db.session.execute(delete(Escalation))
    db.session.execute(delete(AuditEvent))
    db.session.execute(update(CallbackRequest).where(CallbackRequest.reference < f"{DUE:09d}")
                       .values(next_escalation_at=now - timedelta(hours=1), priority=0))
    db.session.commit()


def bare_select(now: datetime) -> float:
    started = time.perf_counter()
    rows = db.session.execute(select(CallbackRequest).where(CallbackRequest.next_escalation_at <= now)
                              .order_by(CallbackRequest.next_escalation_at).limit(500)).all()
    elapsed = time.perf_counter() - started
    assert len(rows) == DUE, len(rows)
    db.session.rollback()
    db.session.expunge_all()
    return elapsed


def one_tick(now: datetime) -> float:
    db.session.expunge_all()
    started = time.perf_counter()
    counts = sla_tick(now)
    elapsed = time.perf_counter() - started
    assert counts["due"] == DUE and counts["fired"] == DUE, counts
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=100_000, help="open requests (default 100,000)")
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file under bench/.data)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data_dir = ROOT / "bench" / ".data"
    data_dir.mkdir(exist_ok=True)
    url = args.database or f"sqlite:///{data_dir / f'sla_{args.open}.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:1/0", "ESCALATION_REPEAT_HOURS": 4})
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        import logging

        logging.getLogger("chamber_callback").setLevel(logging.WARNING)
        try:
            count = db.session.scalar(select(func.count()).select_from(CallbackRequest))
        except Exception:  # noqa: BLE001 - no schema yet
            count = None
        db.session.rollback()  # release the read lock before the schema is dropped
        if count != args.open:
            started = time.perf_counter()
            build(args.open, now)
            print(f"built {args.open:,} open requests in {time.perf_counter() - started:.1f} s")
        selects, ticks = [], []
        for _ in range(args.runs):
            reset(now)
            selects.append(bare_select(now))
            ticks.append(one_tick(now))
        backend = db.engine.dialect.name
    select_ms, tick_ms = statistics.median(selects) * 1000, statistics.median(ticks) * 1000
    print(f"{backend}: {args.open:,} open requests, {DUE} due, median of {args.runs} runs")
    print(f"  bare indexed SELECT of the due rows : {select_ms:8.2f} ms")
    print(f"  one SLA tick (fires {DUE} levels)   : {tick_ms:8.2f} ms")
    print(f"  ratio tick / SELECT                 : {tick_ms / select_ms:8.2f}")


if __name__ == "__main__":
    main()
