"""Importing a campaign's contacts from a CSV file: the preview (nothing written), then the import
in chunks (an RQ job whose progress the page follows; in-process when Redis is down).

Rows are checked by ``domain.contacts_import``; against the database, in batches: numbers already
in the campaign (importing the same file twice adds nothing: the unique (campaign, phone) key),
numbers with a callback request in progress (merged: the agent handling it covers the artisan),
numbers that asked « Ne plus m'appeler » (skipped), rows outside the campaign's units (errors).
Reports hold counts and line numbers, never names or numbers.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..domain import contacts_import as reading
from ..domain.actors import SYSTEM, Actor
from ..domain.campaigns import CHANNEL, CampaignError, Definition, Priority
from ..domain.contacts_import import Contact, RowError, Table
from ..domain.lifecycle import ACTIVE_STATUSES, Status
from ..domain.reference import new_reference, new_status_token, token_digest
from ..domain.roles import TAKES_CALLS
from ..extensions import db
from ..models import CallAttempt, CallOptOut, Campaign, CampaignImport, Departement, RegionalUnit, StaffUser, Topic
from ..models import CallbackRequest as R
from ..queues import JOBS, REDIS_ERRORS, enqueue_once, get_queue, get_redis
from .audit import record_event
from .campaigns import save_campaign, tz, window_of
from .queue import CALLBACKS
from .unit_of_work import unit_of_work

log = logging.getLogger(__name__)
BATCH = 500  # numbers per IN (…)
CHUNK = 2000  # rows per INSERT
REFERENCE_DRAWS = 5
MAX_REPORTED_ERRORS = 200
FILE_TTL_S = 3600
IMPORTS_QUEUE = "ticks"


def _batches(items: list, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class Checked:
    """A file read and checked against the database (what the preview shows, what the import writes)."""

    table: Table
    mapping: dict[str, int]
    problems: list[str]  # the mapping's (nothing is checked until they are fixed)
    to_add: list[Contact] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    merged_in_file: dict[int, list[int]] = field(default_factory=dict)
    already_in_campaign: int = 0
    merged_with_request: int = 0
    opted_out: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {"rows": len(self.table.rows), "to_add": len(self.to_add), "errors": len(self.errors),
                "merged_in_file": sum(len(v) for v in self.merged_in_file.values()),
                "already_in_campaign": self.already_in_campaign, "merged_with_request": self.merged_with_request,
                "opted_out": self.opted_out}


def _existing(column_filter, phones: list[str]) -> set[str]:
    found: set[str] = set()
    for batch in _batches(phones):
        found.update(db.session.scalars(select(R.phone).where(R.phone.in_(batch), column_filter)))
    return found


def check(campaign: Campaign, data: bytes, mapping: dict[str, int] | None = None) -> Checked:
    """Read and check a file for this campaign; writes nothing. ``reading.FileError`` when it
    cannot be read at all."""
    table = reading.read_table(data)
    mapping = reading.guess_mapping(table.header) if mapping is None else mapping
    problems = reading.mapping_problems(mapping, table.header)
    checked = Checked(table, mapping, problems)
    if problems:
        return checked
    preview = reading.check_table(table, mapping)
    checked.errors, checked.merged_in_file = list(preview.errors), preview.merged_in_file
    units = {unit.id for unit in campaign.units}
    unit_of = dict(db.session.execute(select(Departement.code, Departement.unit_id)).all())
    inside = []
    for contact in preview.contacts:
        if unit_of.get(contact.departement) not in units:
            checked.errors.append(RowError(contact.line, "postal_code", _(
                "Hors des unités de la campagne (département %(code)s).", code=contact.departement)))
        else:
            inside.append(contact)
    checked.errors.sort(key=lambda error: error.line)
    phones = [c.phone for c in inside]
    in_campaign = _existing(R.campaign_id == campaign.id, phones)
    with_request = _existing(CALLBACKS & R.status.in_([s.value for s in ACTIVE_STATUSES]), phones)
    opted: set[str] = set()
    for batch in _batches(phones):
        opted.update(db.session.scalars(select(CallOptOut.phone).where(CallOptOut.phone.in_(batch))))
    for contact in inside:
        if contact.phone in in_campaign:
            checked.already_in_campaign += 1
        elif contact.phone in opted:
            checked.opted_out += 1
        elif contact.phone in with_request:
            checked.merged_with_request += 1
        else:
            checked.to_add.append(contact)
    db.session.commit()  # end the read transaction
    return checked


def report_of(checked: Checked, added: int) -> dict:
    """The import's report: counts and line numbers only."""
    return {**checked.counts, "added": added, "already_in_campaign": checked.already_in_campaign + (
        len(checked.to_add) - added),
        "errors_shown": [{"line": e.line, "field": e.field, "message": e.message}
                         for e in checked.errors[:MAX_REPORTED_ERRORS]],
        "merged_lines": [[first, *lines] for first, lines in list(checked.merged_in_file.items())[:50]]}


# --- writing ---------------------------------------------------------------------------------------

def _portfolio(contacts: list[Contact]) -> dict[str, int]:
    """Phone → the agent who called this artisan most (same phone or SIRET), still active."""
    phones = [c.phone for c in contacts]
    sirets = [c.siret for c in contacts if c.siret]
    if not phones:
        return {}
    rows = db.session.execute(
        select(R.phone, R.siret, CallAttempt.agent_id, func.count()).join(CallAttempt, CallAttempt.request_id == R.id)
        .join(StaffUser, StaffUser.id == CallAttempt.agent_id)
        .where(or_(R.phone.in_(phones), R.siret.in_(sirets) if sirets else False),
               StaffUser.is_active_account.is_(True), StaffUser.role.in_(TAKES_CALLS))
        .group_by(R.phone, R.siret, CallAttempt.agent_id)).all()
    by_phone: dict[str, dict[int, int]] = {}
    by_siret: dict[str, dict[int, int]] = {}
    for phone, siret, agent_id, count in rows:
        by_phone.setdefault(phone, {}).setdefault(agent_id, 0)
        by_phone[phone][agent_id] += count
        if siret:
            by_siret.setdefault(siret, {}).setdefault(agent_id, 0)
            by_siret[siret][agent_id] += count
    found = {}
    for contact in contacts:
        tally: dict[int, int] = dict(by_phone.get(contact.phone, {}))
        for agent_id, count in by_siret.get(contact.siret or "", {}).items():
            tally[agent_id] = tally.get(agent_id, 0) + count
        if tally:
            found[contact.phone] = max(tally, key=lambda agent: (tally[agent], -agent))
    return found


def _insert(campaign: Campaign, contacts: list[Contact], now: datetime) -> None:
    unit_of = dict(db.session.execute(select(Departement.code, Departement.unit_id)).all())
    portfolio = _portfolio(contacts)
    deadline = window_of(campaign).deadline()
    rows = [{
        "reference": new_reference(), "token_digest": token_digest(new_status_token()),
        "status": Status.QUEUED.value, "name": c.name, "business_name": c.business_name, "siret": c.siret,
        "sector": c.sector, "phone": c.phone, "email": None, "postal_code": c.postal_code,
        "commune_insee": c.commune_insee, "commune_name": c.commune_name, "departement_code": c.departement,
        "unit_id": unit_of[c.departement], "topic_id": campaign.topic_id, "description": "", "urgent": False,
        "no_sms": True, "channel": CHANNEL, "campaign_id": campaign.id, "submitted_at": now, "queued_at": now,
        "enqueued_at": now, "sla_deadline": deadline, "priority": 0, "failed_attempts": 0,
        "preferred_agent_id": portfolio.get(c.phone),
    } for c in contacts]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    # A conflict leaves the row out: the number already in the campaign (imported meanwhile), or a
    # reference drawn twice (about one in thirty 50,000-row files), which is drawn again.
    for _draw in range(REFERENCE_DRAWS):
        db.session.execute(dialect.insert(R.__table__).on_conflict_do_nothing(), rows)
        present = set(db.session.scalars(select(R.phone).where(R.campaign_id == campaign.id,
                                                               R.phone.in_([row["phone"] for row in rows]))))
        rows = [{**row, "reference": new_reference()} for row in rows if row["phone"] not in present]
        if not rows:
            return
    raise RuntimeError(f"{len(rows)} contacts could not get a free reference")


def _count(campaign_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(R).where(R.campaign_id == campaign_id))


def run(import_id: int, data: bytes, mapping: dict[str, int], now: datetime) -> CampaignImport:
    """Check and write the file's contacts in chunks, updating the progress as it goes."""
    record = db.session.get(CampaignImport, import_id)
    if record.status == "done":
        return record
    campaign = db.session.get(Campaign, record.campaign_id)
    try:
        checked = check(campaign, data, mapping)
        if checked.problems:
            raise CampaignError({"mapping": "; ".join(checked.problems)})
        with unit_of_work():
            record = db.session.get(CampaignImport, import_id)
            record.status, record.total_rows = "running", len(checked.to_add)
        before = _count(campaign.id)
        done = 0
        for start in range(0, len(checked.to_add), CHUNK):
            chunk = checked.to_add[start:start + CHUNK]
            with unit_of_work():
                _insert(campaign, chunk, now)
                done += len(chunk)
                db.session.execute(update(CampaignImport).where(CampaignImport.id == import_id)
                                   .values(processed_rows=done).execution_options(synchronize_session=False))
        added = _count(campaign.id) - before
        with unit_of_work():
            record = db.session.get(CampaignImport, import_id)
            record.status, record.finished_at, record.processed_rows = "done", now, len(checked.to_add)
            record.report = report_of(checked, added)
            record_event(request_id=None, action="campaign.imported",
                         actor=Actor.staff(record.created_by_id) if record.created_by_id else SYSTEM, now=now,
                         staff_user_id=record.created_by_id,
                         data={"campaign_id": campaign.id, "import_id": import_id,
                               **{k: v for k, v in record.report.items() if isinstance(v, int)}})
    except Exception as error:
        db.session.rollback()
        log.exception("campaign import %s failed", import_id)
        with unit_of_work():
            record = db.session.get(CampaignImport, import_id)
            record.status, record.finished_at = "failed", now
            message = getattr(error, "message", None) or "; ".join(getattr(error, "errors", {}).values())
            record.report = {"failure": (message or type(error).__name__)[:300]}
    return db.session.get(CampaignImport, import_id, populate_existing=True)


def _file_key(import_id: int) -> str:
    return f"campaign-import:{import_id}"


def start_import(campaign: Campaign, data: bytes, filename: str, mapping: dict[str, int], user_id: int | None,
                 now: datetime) -> CampaignImport:
    """Record the import, then run it in an RQ job (the page follows its progress); in-process
    when Redis is unavailable."""
    record = start_record(campaign, data, filename, mapping, user_id, now)
    try:
        redis = get_redis()
        redis.set(_file_key(record.id), data, ex=FILE_TTL_S)
        enqueue_once(get_queue(IMPORTS_QUEUE), JOBS + "import_campaign_contacts", record.id,
                     job_id=f"campaign-import-{record.id}", job_timeout=600)
    except (*REDIS_ERRORS, RuntimeError) as exc:
        log.warning("redis unavailable, campaign import %s runs in-process: %s", record.id, type(exc).__name__)
        return run(record.id, data, mapping, now)
    return record


def start_record(campaign: Campaign, data: bytes, filename: str, mapping: dict[str, int], user_id: int | None,
                 now: datetime) -> CampaignImport:
    """The import's row (pending), committed."""
    with unit_of_work():
        record = CampaignImport(campaign_id=campaign.id, filename=(filename or "contacts.csv")[:200],
                                file_digest=hashlib.sha256(data).hexdigest(), status="pending", total_rows=0,
                                processed_rows=0, created_at=now, created_by_id=user_id,
                                report={"mapping": {k: int(v) for k, v in mapping.items()}})
        db.session.add(record)
    return record


def run_job(import_id: int, now: datetime) -> str:
    """The RQ job: the file is in Redis for an hour."""
    record = db.session.get(CampaignImport, import_id)
    if record is None or record.status in ("done", "failed"):
        return "nothing to do"
    data = get_redis().get(_file_key(import_id))
    if data is None:
        with unit_of_work():
            record = db.session.get(CampaignImport, import_id)
            record.status, record.finished_at = "failed", now
            record.report = {"failure": "file expired before the import ran"}
        return "file expired"
    mapping = {k: int(v) for k, v in (record.report or {}).get("mapping", {}).items()}
    done = run(import_id, data, mapping, now)
    get_redis().delete(_file_key(import_id))
    return done.status


# --- the command line --------------------------------------------------------------------------------

def ensure_campaign(name: str, *, unit_codes: list[str] | None, topic_code: str, starts_on: date | None,
                    ends_on: date | None, now: datetime, purpose: str) -> tuple[Campaign, bool]:
    """The campaign of that name, or a new one with the usual defaults (True: created)."""
    found = db.session.scalar(select(Campaign).where(func.lower(Campaign.name) == name.strip().lower()))
    if found is not None:
        return found, False
    units = select(RegionalUnit.id)
    if unit_codes:
        units = units.where(RegionalUnit.code.in_(unit_codes))
    unit_ids = tuple(db.session.scalars(units))
    topic_id = db.session.scalar(select(Topic.id).where(Topic.code == topic_code))
    if not unit_ids or topic_id is None:
        raise CampaignError({"campaign": "unknown unit or topic"})
    today = now.astimezone(tz()).date()
    definition = Definition(name.strip()[:120], purpose, unit_ids, topic_id, "", (), starts_on or today,
                            ends_on or (starts_on or today) + timedelta(days=14), time(9, 0), time(18, 0), 3, 120,
                            Priority.CALLBACKS_FIRST, 50)
    return save_campaign(definition, user_id=None, now=now), True

