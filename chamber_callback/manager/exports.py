"""CSV exports, streamed: rows are read from a server-side cursor and written out in chunks,
so a million requests never sit in memory.

The files open as they are in a French spreadsheet: UTF-8 with a byte-order mark, ``;`` as
the separator, local times. Cells that a spreadsheet would run as a formula are defused.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from flask import Response, stream_with_context
from flask_babel import gettext as _
from phonenumbers import NumberParseException
from sqlalchemy import select

from ..domain.intake import SECTOR_LABELS, URGENCY_REASONS, format_phone_national
from ..extensions import db, zone_named
from ..labels import staff_status_label
from ..models import CallbackRequest as R
from ..models import RegionalUnit, Topic
from ..services.stats import OUTCOMES, Scope

# Roles that may export the artisan's name, phone, e-mail and description.
CHUNK_ROWS = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value) -> str:
    """A cell's text; a leading = + - @ would make a spreadsheet evaluate it (CSV injection)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def phone_cell(e164: str | None) -> str:
    if not e164 or not e164.startswith("+"):  # erased after the retention period
        return safe(e164)
    if e164.startswith("+33") and len(e164) == 12:  # the common case, without a parse
        national = "0" + e164[3:]
        return " ".join(national[i:i + 2] for i in range(0, 10, 2))
    try:
        return format_phone_national(e164)
    except NumberParseException:
        return safe(e164)


def csv_response(filename: str, rows: Iterable[list]) -> Response:
    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        buffer.write("\ufeff")
        for number, row in enumerate(rows, start=1):
            writer.writerow(row)
            if number % CHUNK_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # let nginx pass the stream through
    return response


def request_rows(scope: Scope, start: datetime, end: datetime, personal: bool, tz: str) -> Iterator[list]:
    """The requests submitted in [start, end), oldest first."""
    zone = zone_named(tz)
    units = dict(db.session.execute(select(RegionalUnit.id, RegionalUnit.name)).all())
    topics = dict(db.session.execute(select(Topic.id, Topic.label)).all())
    # Labels looked up once, not once per row.
    statuses = {}
    sectors = {code: _(label) for code, label in SECTOR_LABELS.items()}
    reasons = {code: _(label) for code, label in URGENCY_REASONS.items()}

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    header = [_("Référence"), _("Reçue le"), _("Unité"), _("Département"), _("Sujet"), _("Secteur"), _("Urgente"),
              _("Motif d'urgence"), _("Canal"), _("État"), _("Échéance"), _("Premier appel"),
              _("Dans les délais"), _("Minutes avant le premier appel"), _("Premier contact abouti"),
              _("Essais sans réponse"), _("Priorité"), _("Close le"), _("Données personnelles effacées le")]
    columns = [R.reference, R.submitted_at, R.unit_id, R.departement_code, R.topic_id, R.sector, R.urgent,
               R.urgency_reason, R.channel, R.status, R.sla_deadline, R.first_attempt_at, R.sla_met,
               R.time_to_first_attempt_s, R.first_reached_at, R.failed_attempts, R.priority, R.closed_at, R.purged_at]
    if personal:
        header += [_("Nom"), _("Entreprise"), _("SIRET"), _("Téléphone"), _("E-mail"), _("Code postal"),
                   _("Commune"), _("Description")]
        columns += [R.name, R.business_name, R.siret, R.phone, R.email, R.postal_code, R.commune_name,
                    R.description]
    yes, no = _("oui"), _("non")
    yield header
    query = (select(*columns).where(R.submitted_at >= start, R.submitted_at < end, *scope.conditions())
             .order_by(R.submitted_at, R.id).execution_options(yield_per=CHUNK_ROWS))
    for row in db.session.execute(query):
        if row.status not in statuses:
            statuses[row.status] = staff_status_label(row.status)
        line = [row.reference, local(row.submitted_at), units.get(row.unit_id, ""), row.departement_code,
                topics.get(row.topic_id, ""), sectors.get(row.sector, row.sector), yes if row.urgent else no,
                reasons.get(row.urgency_reason, ""),
                row.channel, statuses[row.status], local(row.sla_deadline), local(row.first_attempt_at),
                "" if row.sla_met is None else yes if row.sla_met else no,
                "" if row.time_to_first_attempt_s is None else round(row.time_to_first_attempt_s / 60),
                local(row.first_reached_at), row.failed_attempts, row.priority, local(row.closed_at),
                local(row.purged_at)]
        if personal:
            line += [safe(row.name), safe(row.business_name), row.siret or "", phone_cell(row.phone),
                     safe(row.email), row.postal_code, safe(row.commune_name), safe(row.description)]
        yield line


def _percent(share) -> str:
    return "" if share.rate is None else f"{share.rate * 100:.1f}".replace(".", ",")


def _minutes(seconds: int | None) -> str:
    return "" if seconds is None else str(round(seconds / 60))


def report_rows(rows, *, unit: bool) -> Iterator[list]:
    header = [_("Unité") if unit else _("Conseiller"), _("Période")]
    if unit:
        header.append(_("Demandes reçues"))
    header += [_("Demandes appelées"), _("Appels"), _("Appels par demande"), _("Dans les délais"),
               _("Hors délai"), _("Dans les délais (%)"), _("Premier appel, médiane (min)"),
               _("Premier appel, 90e centile (min)")]
    header += [_("Résultat : %(outcome)s", outcome=outcome) for outcome in OUTCOMES]
    if unit:
        header += [_("Traitées"), _("Injoignables"), _("Annulées"), _("Abandon (%)")]
    yield header
    for row in rows:
        line = [safe(row.label), row.bucket]
        if unit:
            line.append(row.received)
        per_request = row.attempts_per_request
        line += [row.handled, row.calls, "" if per_request is None else f"{per_request:.2f}".replace(".", ","),
                 row.met, row.missed, _percent(row.within), _minutes(row.ttfa.median_s), _minutes(row.ttfa.p90_s)]
        line += [row.outcomes.get(outcome, 0) for outcome in OUTCOMES]
        if unit:
            line += [row.closed.get("completed", 0), row.closed.get("unreachable", 0), row.closed.get("cancelled", 0),
                     _percent(row.abandonment)]
        yield line
