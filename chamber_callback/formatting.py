"""Dates, times and numbers as the reader's language writes them, in the chamber's time zone.

Templates name a format instead of writing a pattern: ``{{ when|local_datetime("short") }}``,
``{{ day|local_date("long") }}``, ``{{ share|number(1) }}``. French keeps the chamber's house style
(« jeu. 3 déc. 14h05 », « 1 234,5 »), English has its own order and 12-hour clock
(« Thu, Dec 3, 2:05 PM », « 1,234.5 »), and any other language gets CLDR's own formats. A Babel
pattern still works where a name is expected (a chamber's own templates may hold one), but it is the
same pattern in every language.
"""
from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import format_date, format_datetime, format_decimal, format_percent, format_time, get_locale

# name: (French pattern, English pattern, (kind, CLDR width) for the other languages)
DATETIME_FORMATS = {
    "long": ("EEEE d MMMM 'à' HH'h'mm", "EEEE, MMMM d 'at' h:mm a", ("datetime", "medium")),  # jeudi 3 décembre à 14h05
    # jeudi 3 décembre, 14h05
    "long_day_time": ("EEEE d MMMM, HH'h'mm", "EEEE, MMMM d, h:mm a", ("datetime", "medium")),
    "short": ("EEE d MMM HH'h'mm", "EEE, MMM d, h:mm a", ("datetime", "short")),  # jeu. 3 déc. 14h05
    "day_time": ("d MMM HH'h'mm", "MMM d, h:mm a", ("datetime", "short")),  # 3 déc. 14h05
    "full": ("d MMM y HH'h'mm", "MMM d, y, h:mm a", ("datetime", "medium")),  # 3 déc. 2026 14h05
    "date": ("d MMM y", "MMM d, y", ("date", "medium")),  # 3 déc. 2026
    "time": ("HH'h'mm", "h:mm a", ("time", "short")),  # 14h05
    "time_seconds": ("HH'h'mm:ss", "h:mm:ss a", ("time", "medium")),  # 14h05:07
}
# Calendar days (``date`` objects, no time zone).
DATE_FORMATS = {
    "day_month": ("d MMM", "MMM d", "medium"),  # 3 déc.
    "date": ("d MMM y", "MMM d, y", "medium"),  # 3 déc. 2026
    "long": ("EEEE d MMMM y", "EEEE, MMMM d, y", "full"),  # jeudi 3 décembre 2026
    "numeric_day": ("dd/MM", "M/d", "short"),  # 03/12
    "numeric": ("dd/MM/y", "M/d/y", "short"),  # 03/12/2026
    "weekday_numeric": ("EEE dd/MM", "EEE M/d", "short"),  # jeu. 03/12
    "long_weekday_numeric": ("EEEE dd/MM", "EEEE M/d", "short"),  # jeudi 03/12
}
# Times of day (``time`` objects or stored "HH:MM" strings).
TIME_FORMATS = {
    "clock": ("HH:mm", "h:mm a", "short"),  # 08:30
    "hour": ("HH'h'", "h a", "short"),  # 14h
}


def language() -> str:
    locale = get_locale()
    return locale.language if locale else "fr"


def language_tag() -> str:
    """The reader's language as HTML's lang attribute writes it (BCP 47: « fr », « en-GB »)."""
    locale = get_locale()
    return str(locale).replace("_", "-") if locale else "fr"


def _pattern(spec: tuple) -> str | None:
    """The pattern for this language, or None for a language that takes CLDR's own format."""
    lang = language()
    return spec[0] if lang == "fr" else spec[1] if lang == "en" else None


def local_datetime(moment: datetime | None, name: str = "long") -> str:
    """A moment in the chamber's time zone, in the reader's language; "" for None."""
    if moment is None:
        return ""
    spec = DATETIME_FORMATS.get(name)
    if spec is None:
        return format_datetime(moment, name)
    pattern = _pattern(spec)
    if pattern:
        return format_datetime(moment, pattern)
    kind, width = spec[2]
    if kind == "date":  # Flask-Babel's format_date would not move the moment to the chamber's time zone
        return format_datetime(moment, get_locale().date_formats[width].pattern)
    return (format_time if kind == "time" else format_datetime)(moment, width)


def _plain(value, parse, formats: dict, name: str, render) -> str:
    """``value`` (or its ISO string, as stored) rendered with the named format; "" for None or "",
    and a string that does not parse as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = parse(value)
        except ValueError:
            return value
    spec = formats.get(name)
    return render(value, name if spec is None else _pattern(spec) or spec[2])


def local_date(day: date | str | None, name: str = "day_month") -> str:
    """A calendar day (a ``date`` or an ISO "YYYY-MM-DD" string) in the reader's language; "" for None."""
    return _plain(day, date.fromisoformat, DATE_FORMATS, name, format_date)


def local_time(value: time | str | None, name: str = "clock") -> str:
    """A time of day (a ``time``, or an "HH:MM" string as stored) in the reader's language."""
    return _plain(value, time.fromisoformat, TIME_FORMATS, name,
                  lambda moment, pattern: format_time(moment, pattern, rebase=False))


def number(value, decimals: int | None = None) -> str:
    """A number with the reader's separators (« 1 234,5 », « 1,234.5 »); ``decimals`` fixes how many
    decimals are shown (``"%.1f"``), else up to three as needed. "—" for None."""
    if value is None:
        return "—"
    if decimals is None:
        return format_decimal(value)
    return format_decimal(value, format="#,##0" + ("." + "0" * decimals if decimals else ""))


def percent(rate) -> str:
    """A share (0.4) as a percentage with at most one decimal: « 40 % », « 12,5 % », « 40% »; "—" for None."""
    if rate is None:
        return "—"
    pattern = get_locale().percent_formats[None].pattern.replace("#,##0", "#,##0.#", 1)
    return format_percent(rate, format=pattern)


def register(app) -> None:
    app.jinja_env.filters.update(local_datetime=local_datetime, local_date=local_date, local_time=local_time,
                                 number=number)
