"""The prefecture's daily needs report: its facts read from the database, its rows as people read
them (page, CSV, e-mail: the same texts), and the morning e-mail, sent once per day.

The anonymity rules are in ``domain/needs_report.py``. Facts come from ``FACT_SOURCES``: functions
``(start, end, tz)`` yielding ``(local day 'YYYY-MM-DD', Fact)``; the callback requests are the
first, another source (campaign answers) is one more function in that list.

Sending: a run claims the day in ``report_sends`` (unique kind + day, insert-or-ignore) and sends
only if its insert won, or if it took over a claim released after a failure or left for
``CLAIM_TIMEOUT`` by a process that died (an UPDATE … WHERE sent_at IS NULL AND (free or stale)
… RETURNING). Each address sent to is written down at once, so a retry skips it.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from ..clock import utcnow
from ..domain import needs_report as rules
from ..domain.geography import DEPARTEMENTS, commune_name
from ..domain.intake import SECTOR_LABELS
from ..domain.needs_report import Fact, Merged, NeedsReport, Row, Urgency
from ..extensions import begin_write, db, insert_or_ignore, zone_named
from ..models import CallbackRequest as R
from ..models import CampaignAnswer, ReportSend, Topic
from ..notify import get_mailer
from ..notify.email import MailError
from . import settings
from .queue import CALLBACKS
from .stats import day_bounds, local_bucket

log = logging.getLogger(__name__)

KIND = "prefecture_needs"
# A claim not renewed for this long belongs to a run that died: another run takes it over.
CLAIM_TIMEOUT = timedelta(minutes=15)

FactSource = Callable[[datetime, datetime, str], Iterable[tuple[str, Fact]]]


def request_facts(start: datetime, end: datetime, tz: str) -> Iterator[tuple[str, Fact]]:
    """Callback requests received in [start, end), counted by local day, topic, département,
    commune, sector and urgency (one grouped query; nothing personal is read)."""
    day = local_bucket(R.submitted_at, "day", tz)
    query = (select(day, Topic.code, R.departement_code, R.commune_insee, R.sector, R.urgent, func.count())
             .join(Topic, Topic.id == R.topic_id)
             .where(R.submitted_at >= start, R.submitted_at < end, CALLBACKS)
             .group_by(day, Topic.code, R.departement_code, R.commune_insee, R.sector, R.urgent))
    for local_day, topic, departement, commune, sector, urgent, count in db.session.execute(query):
        yield local_day, Fact(topic, departement, commune, sector, bool(urgent), count)


def campaign_answer_facts(start: datetime, end: datetime, tz: str) -> Iterator[tuple[str, Fact]]:
    """Artisans a campaign reached who answered its questions, once each, on the local day of
    their last answer, under the campaign's topic (never urgent: the chamber called them). Those
    turned into a callback request are counted as that request, not twice."""
    last = (select(CampaignAnswer.request_id, func.max(CampaignAnswer.answered_at).label("at"))
            .group_by(CampaignAnswer.request_id).subquery())
    day = local_bucket(last.c.at, "day", tz)
    converted = select(R.origin_request_id).where(R.origin_request_id.is_not(None))
    query = (select(day, Topic.code, R.departement_code, R.commune_insee, R.sector, func.count())
             .select_from(last).join(R, R.id == last.c.request_id).join(Topic, Topic.id == R.topic_id)
             .where(last.c.at >= start, last.c.at < end, R.id.not_in(converted))
             .group_by(day, Topic.code, R.departement_code, R.commune_insee, R.sector))
    for local_day, topic, departement, commune, sector, count in db.session.execute(query):
        yield local_day, Fact(topic, departement, commune, sector, False, count)


FACT_SOURCES: list[FactSource] = [request_facts, campaign_answer_facts]


def tz() -> str:
    return current_app.config["TIMEZONE"]


def default_day(now: datetime, zone: str) -> date:
    """Yesterday, local."""
    return now.astimezone(zone_named(zone)).date() - timedelta(days=1)


def compute(day: date, zone: str) -> NeedsReport:
    """The report of one local day, with the trend over the BASELINE_DAYS before."""
    first = day - timedelta(days=rules.BASELINE_DAYS)
    start, end = day_bounds(first, day, zone)
    today, before = [], []
    key = day.isoformat()
    for source in FACT_SOURCES:
        for local_day, fact in source(start, end, zone):
            (today if local_day == key else before).append(fact)
    db.session.commit()  # end the read transaction
    return rules.build(today, before, rules.BASELINE_DAYS)


# --- as people read it ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """A row's texts: the page, the CSV and the e-mail show exactly these."""

    topic: str
    departement_code: str
    departement: str
    sector: str
    commune_code: str
    commune: str
    count: str
    urgent: str
    trend: str
    suppressed: bool = False


@dataclass(frozen=True)
class PrefectureReport:
    day: date
    title: str
    lines: list[Line]
    total: Line
    figures: NeedsReport

    @property
    def empty(self) -> bool:
        return self.figures.total.count == 0


SUPPRESSED = "< 5"
NO_TREND = "—"


def _merged(level: str, value: Merged) -> str:
    return _(rules.MERGED_LABELS[(level, value)])


def _percent_text(value: int) -> str:
    return f"{value}\u00a0%"


def urgent_text(row: Row) -> str:
    if row.urgency is Urgency.SHOWN:
        return _percent_text(row.urgent_percent)
    if row.urgency is Urgency.FEW_URGENT:
        return _("< %(n)s urgentes", n=rules.MIN_COUNT)
    if row.urgency is Urgency.FEW_NOT_URGENT:
        return _("< %(n)s non urgentes", n=rules.MIN_COUNT)
    return _("non publiée")


def trend_text(row: Row) -> str:
    value = row.trend_percent
    if value is None:
        return NO_TREND
    if value == 0:
        return _percent_text(0)
    return ("+" if value > 0 else "\u2212") + _percent_text(abs(value))


def title(day: date) -> str:
    return _("Remontée des besoins des artisans — %(day)s", day=format_date(day, "EEEE d MMMM y"))


def present(figures: NeedsReport, day: date) -> PrefectureReport:
    topics = dict(db.session.execute(select(Topic.code, Topic.label)).all())
    db.session.commit()
    sectors = {code: _(label) for code, label in SECTOR_LABELS.items()}

    def line(row: Row) -> Line:
        if isinstance(row.departement, Merged):
            departement_code, departement = "", _merged("departement", row.departement)
        else:
            departement_code, departement = row.departement, DEPARTEMENTS.get(row.departement, row.departement)
        if isinstance(row.commune, Merged):
            commune_code, commune = "", _merged("commune", row.commune)
        else:
            commune_code, commune = row.commune, commune_name(row.commune) or row.commune
        return Line(
            topic=_merged("topic", row.topic) if isinstance(row.topic, Merged) else topics.get(row.topic, row.topic),
            departement_code=departement_code, departement=departement,
            sector=_merged("sector", row.sector) if isinstance(row.sector, Merged)
            else sectors.get(row.sector, row.sector),
            commune_code=commune_code, commune=commune,
            count=SUPPRESSED if row.suppressed else str(row.count), urgent=urgent_text(row), trend=trend_text(row),
            suppressed=row.suppressed)

    total = line(figures.total)
    total = replace(total, topic=_("Total"), departement="", sector="", commune="")
    return PrefectureReport(day=day, title=title(day), lines=[line(row) for row in figures.rows], total=total,
                            figures=figures)


def report_for(day: date, zone: str | None = None) -> PrefectureReport:
    return present(compute(day, zone or tz()), day)


def method_note() -> str:
    return _("Méthode : demandes de rappel reçues ce jour-là, et artisans joints par une campagne de la chambre "
             "qui ont répondu à ses questions (une fois chacun, sous le sujet de la campagne), sans aucune donnée "
             "personnelle. Aucun chiffre "
             "inférieur à %(n)s n'est publié : les communes, secteurs, départements et sujets moins nombreux "
             "sont regroupés (« autres… »), une journée de moins de %(n)s demandes est masquée (« < %(n)s »), "
             "la part urgente n'est donnée qu'à partir de %(n)s demandes urgentes et %(n)s non urgentes (celle du "
             "total n'est pas publiée quand elle permettrait de retrouver celle d'une ligne). Tendance : par "
             "rapport à la moyenne des %(days)s jours précédents, arrondie à 10 %% ; « — » : moins de %(n)s "
             "demandes ces jours-là.",
             n=rules.MIN_COUNT, days=rules.BASELINE_DAYS)


def csv_header() -> list[str]:
    return [_("Sujet"), _("Code département"), _("Département"), _("Secteur"), _("Code commune (INSEE)"),
            _("Commune"), _("Demandes"), _("Part urgente"), _("Tendance sur 7 jours")]


def csv_rows(report: PrefectureReport) -> Iterator[list[str]]:
    yield csv_header()
    for item in [*report.lines, report.total]:
        yield [item.topic, item.departement_code, item.departement, item.sector, item.commune_code, item.commune,
               item.count, item.urgent, item.trend]


def report_url(day: date) -> str:
    base = current_app.config["PUBLIC_BASE_URL"] or ""
    return f"{base}/pilotage/prefecture?jour={day.isoformat()}"


def as_text(report: PrefectureReport, url: str) -> str:
    """The e-mail: the table in plain text (aligned columns), the method and the page's address."""
    header = [_("Sujet"), _("Département"), _("Commune"), _("Secteur"), _("Demandes"), _("Part urgente"),
              _("Tendance")]

    def cells(item: Line) -> list[str]:
        departement = f"{item.departement_code} {item.departement}".strip()
        return [item.topic, departement, item.commune, item.sector, item.count, item.urgent, item.trend]

    table = [header] + [cells(item) for item in report.lines] + [cells(report.total)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    numeric = {4, 5, 6}

    def render(row: list[str]) -> str:
        return "  ".join(cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                         for i, cell in enumerate(row)).rstrip()

    out = [report.title, current_app.config["CHAMBER_NAME"], ""]
    if report.empty:
        out.append(_("Aucune demande reçue ce jour-là."))
    else:
        out += [render(header), "-" * len(render(header))]
        out += [render(row) for row in table[1:-1]]
        out += ["-" * len(render(header)), render(table[-1])]
    out += ["", method_note(), "", _("Le rapport en ligne : %(url)s", url=url), ""]
    return "\n".join(out)


# --- the morning e-mail, once per day ----------------------------------------------------------------

def _due(now: datetime, zone: str) -> bool:
    hours, minutes = (int(part) for part in current_app.config["PREFECTURE_REPORT_TIME"].split(":"))
    return now.astimezone(zone_named(zone)).time() >= time(hours, minutes)


def _claim(day: date, now: datetime, token: str) -> list[str] | None:
    """The addresses already sent to when this run holds the day's claim, else None."""
    begin_write()
    won = db.session.scalar(insert_or_ignore(ReportSend, "kind", "day").values(
        kind=KIND, day=day, claimed_at=now, claim_token=token, recipients=0, attempts=1)
        .returning(ReportSend.id))
    if won is not None:
        db.session.commit()
        return []
    taken = db.session.execute(
        update(ReportSend).where(ReportSend.kind == KIND, ReportSend.day == day, ReportSend.sent_at.is_(None),
                                 or_(ReportSend.claim_token.is_(None), ReportSend.claimed_at < now - CLAIM_TIMEOUT))
        .values(claim_token=token, claimed_at=now, attempts=ReportSend.attempts + 1)
        .returning(ReportSend.sent_to)
        .execution_options(synchronize_session=False)).first()
    db.session.commit()
    return None if taken is None else list(taken[0] or [])


def _held(day: date, token: str):
    return (ReportSend.kind == KIND) & (ReportSend.day == day) & (ReportSend.claim_token == token)


def _write(day: date, token: str, **values) -> bool:
    begin_write()
    changed = db.session.execute(update(ReportSend).where(_held(day, token)).values(**values)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(changed)


def send_daily_report(now: datetime, zone: str | None = None) -> str:
    """Periodic: from PREFECTURE_REPORT_TIME (local), e-mail yesterday's report to the recipients,
    once. Returns what happened: not_yet, no_recipients, already_sent, claimed_elsewhere, sent, failed."""
    zone = zone or tz()
    if not _due(now, zone):
        return "not_yet"
    recipients = settings.report_recipients()
    if not recipients:
        return "no_recipients"
    day = default_day(now, zone)
    sent_already = db.session.scalar(select(ReportSend.sent_at).where(ReportSend.kind == KIND,
                                                                      ReportSend.day == day))
    db.session.commit()
    if sent_already is not None:
        return "already_sent"
    token = secrets.token_hex(16)
    done = _claim(day, now, token)
    if done is None:
        return "claimed_elsewhere"
    report = report_for(day, zone)
    subject, body = report.title, as_text(report, report_url(day))
    mailer = get_mailer()
    for address in recipients:
        if address.lower() in {sent.lower() for sent in done}:
            continue
        try:
            mailer.send(address, subject, body)
        except MailError as exc:
            log.warning("prefecture report of %s: an e-mail failed (%s); the next run retries", day,
                        type(exc).__name__)
            _write(day, token, claim_token=None, last_error=str(exc)[:200])
            return "failed"
        done.append(address)
        if not _write(day, token, sent_to=list(done), recipients=len(done), claimed_at=utcnow()):
            log.warning("prefecture report of %s: the claim was taken over; stopping", day)
            return "claimed_elsewhere"
    _write(day, token, sent_at=utcnow(), claim_token=None, last_error=None, sent_to=list(done), recipients=len(done))
    log.info("prefecture report of %s sent to %s address(es)", day, len(done))
    return "sent"
