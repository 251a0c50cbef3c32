"""The roster: who works which hours (pure). A weekly template per agent (hours by weekday), and
days that differ (a day off, other hours). The callback-time estimate reads it as presence."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from .intake import N_

HOURS_TEXT = re.compile(r"([01][0-9]|2[0-3])[:h]([0-5][0-9])")


class RosterError(ValueError):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message, self.params = message, params


@dataclass(frozen=True)
class Hours:
    start: time
    end: time

    def __post_init__(self):
        if self.end <= self.start:
            raise RosterError(N_("La fin doit suivre le début (%(start)s – %(end)s)."),
                              start=self.start.strftime("%H:%M"), end=self.end.strftime("%H:%M"))

    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def parse_time(raw: str | None) -> time:
    match = HOURS_TEXT.fullmatch((raw or "").strip().lower())
    if not match:
        raise RosterError(N_("Heure illisible « %(value)s » : écrivez par exemple 08:30."), value=(raw or "")[:10])
    return time(int(match.group(1)), int(match.group(2)))


def parse_hours(start: str | None, end: str | None) -> Hours | None:
    """Two times, or None when both are empty (not working)."""
    if not (start or "").strip() and not (end or "").strip():
        return None
    return Hours(parse_time(start), parse_time(end))


def planned(templates: Mapping[int, Hours], days: Mapping[date, Hours | None], day: date) -> Hours | None:
    """The hours an agent works on ``day``: the day's own entry (None: a day off), else the template."""
    if day in days:
        return days[day]
    return templates.get(day.weekday())


def periods(templates: Mapping[int, Hours], days: Mapping[date, Hours | None], first: date, last: date,
            tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The planned periods from ``first`` to ``last`` (local days), in UTC."""
    result, day = [], first
    while day <= last:
        hours = planned(templates, days, day)
        if hours is not None:
            result.append((datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC),
                           datetime.combine(day, hours.end, tzinfo=tz).astimezone(UTC)))
        day += timedelta(days=1)
    return result


@dataclass(frozen=True)
class ImportedDay:
    email: str
    day: date
    hours: Hours | None  # None: a day off


def parse_week_csv(text: str, known_emails: Iterable[str]) -> list[ImportedDay]:
    """``email;date;debut;fin`` (a header line is allowed; empty times: a day off). Every line is
    checked before anything is kept: ``RosterError`` names the first bad line."""
    known = {email.lower() for email in known_emails}
    rows = []
    sample = text[:2048]
    reader = csv.reader(io.StringIO(text), delimiter=";" if sample.count(";") >= sample.count(",") else ",")
    for number, line in enumerate(reader, start=1):
        if not line or not "".join(line).strip():
            continue
        cells = [cell.strip() for cell in line] + ["", "", "", ""]
        email, day_text, start, end = cells[:4]
        if number == 1 and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day_text):
            continue  # the header
        if email.lower() not in known:
            raise RosterError(N_("Ligne %(n)d : « %(email)s » n'est pas un conseiller de l'unité."), n=number,
                              email=email[:80])
        try:
            day = date.fromisoformat(day_text)
            hours = parse_hours(start, end)
        except (ValueError, RosterError) as error:
            # The line's own error, written out now (its placeholders filled in): the outer one gets it whole.
            detail = _(error.message, **error.params) if isinstance(error, RosterError) else _(
                "date illisible (AAAA-MM-JJ)")
            raise RosterError(N_("Ligne %(n)d : %(detail)s"), n=number, detail=detail) from None
        rows.append(ImportedDay(email.lower(), day, hours))
    if not rows:
        raise RosterError(N_("Le fichier ne contient aucune ligne « email;date;debut;fin »."))
    return rows
