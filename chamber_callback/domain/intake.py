"""Rules for what an artisan may submit: pure checks shared by the form and the API.

Messages are marked with ``N_`` (gettext no-op): the web layer translates them, so this
module stays free of Flask. Each check raises ``IntakeError`` with a message for the field.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberType

from .geography import OVERSEAS_PHONE_REGION, Commune, communes_for


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    return message


class IntakeError(ValueError):
    """A submitted value is not acceptable; ``message`` is shown next to the field."""

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message)
        self.message = message
        self.field = field  # set when the error belongs to another field than the one checked
        self.params = params


class AmbiguousPostalCode(IntakeError):
    """The postal code exists in several départements: the artisan must pick the commune."""

    def __init__(self, communes: list[Commune]):
        super().__init__(N_("Ce code postal couvre plusieurs départements : choisissez votre commune."),
                         field="commune")
        self.communes = communes


SECTORS: dict[str, str] = {
    "alimentation": N_("Alimentation"),
    "batiment": N_("Bâtiment"),
    "fabrication": N_("Fabrication"),
    "services": N_("Services"),
}

# Requests made on the phone line: the caller is not asked for a sector.
UNKNOWN_SECTOR = "non_precise"
SECTOR_LABELS: dict[str, str] = {**SECTORS, UNKNOWN_SECTOR: N_("Non précisé")}

# Topic codes are part of the API contract; their labels live in the database (editable).
DEFAULT_TOPICS: list[tuple[str, str]] = [
    ("aides", "Aides et fonds de solidarité"),
    ("activite_partielle", "Activité partielle"),
    ("pge", "Prêt garanti par l'État"),
    ("charges", "Reports de charges et cotisations"),
    ("sanitaire", "Règles sanitaires"),
    ("formalites", "Formalités"),
    ("autre", "Autre question"),
]

URGENCY_REASONS: dict[str, str] = {
    "activite_menacee": N_("Mon activité est menacée cette semaine"),
    "premiere_ligne": N_("Je travaille en première ligne (alimentation, santé, dépannage…)"),
    "echeance": N_("J'ai une échéance administrative ou bancaire imminente"),
    "autre": N_("Autre raison urgente"),
}

# Quick choices for the preferred window: local opening hours (start, end).
PREFERRED_SLOTS: dict[str, tuple[time, time, str]] = {
    "avant_9h": (time(8, 0), time(9, 0), N_("Avant 9 h")),
    "midi": (time(12, 0), time(14, 0), N_("Entre 12 h et 14 h")),
    "apres_19h": (time(19, 0), time(21, 0), N_("Après 19 h")),
}
OPENING_TIME, CLOSING_TIME = time(8, 0), time(21, 0)
OPEN_WEEKDAYS = frozenset(range(6))  # Monday to Saturday
MAX_WINDOW_AHEAD = timedelta(days=7)
DESCRIPTION_MAX = 1000
ACCEPTED_PHONE_TYPES = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.VOIP}
)


def one_line(raw) -> str:
    """Runs of spaces, tabs and line breaks as one space, trimmed, without control or invisible
    characters (``domain.text``): names, labels, messages typed by staff."""
    from .text import INVISIBLE

    text = "".join(ch for ch in str(raw or "") if ch not in INVISIBLE and (ch.isprintable() or ch.isspace()))
    return " ".join(text.split())


def normalise_phone(raw: str, departement: str | None = None) -> str:
    """Parse a French (or overseas, or international) number and return it in E.164.

    A number written nationally ("0690…") is read in the artisan's overseas region first
    when the postal code says where they are, then as a metropolitan number.
    """
    raw = (raw or "").strip()
    if not raw:
        raise IntakeError(N_("Indiquez un numéro de téléphone."))
    regions = [OVERSEAS_PHONE_REGION[departement]] if departement in OVERSEAS_PHONE_REGION else []
    regions.append("FR")
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) == 10 and digits.startswith("0"):
        # A 10-digit national number that is not metropolitan may be an overseas one (0690…, 0692…).
        regions += [r for r in OVERSEAS_PHONE_REGION.values() if r not in regions]
    for region in regions:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            raise IntakeError(N_("Ce numéro de téléphone n'est pas lisible. Exemple : 06 12 34 56 78.")) from None
        if phonenumbers.is_valid_number(number):
            if phonenumbers.number_type(number) not in ACCEPTED_PHONE_TYPES:
                raise IntakeError(N_("Indiquez un numéro de mobile ou de ligne fixe où l'on peut vous rappeler."))
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if raw.startswith(("+", "00")):
            break  # international format: the region guess cannot help
    raise IntakeError(N_("Ce numéro de téléphone n'existe pas. Vérifiez-le : 10 chiffres, par exemple 06 12 34 56 78."))


def format_phone_national(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def mask_phone(e164: str) -> str:
    """'06 12 34 56 78' → '06 •• •• •• 78': enough to recognise, not to read out."""
    national = format_phone_national(e164)
    digits_seen = 0
    total = sum(ch.isdigit() for ch in national)
    masked = []
    for ch in national:
        if ch.isdigit():
            digits_seen += 1
            masked.append(ch if digits_seen <= 2 or digits_seen > total - 2 else "•")
        else:
            masked.append(ch)
    return "".join(masked)


def check_siret(raw: str | None) -> str | None:
    """14 digits with a valid Luhn key (La Poste's establishments use their own rule)."""
    digits = "".join((raw or "").split())
    if not digits:
        return None
    if not digits.isdigit() or len(digits) != 14:
        raise IntakeError(N_("Le SIRET compte 14 chiffres (sans lettres)."))
    if digits.startswith("356000000") and digits != "35600000000048":
        valid = sum(int(d) for d in digits) % 5 == 0
    else:
        valid = _luhn_ok(digits)
    if not valid:
        raise IntakeError(N_("Ce numéro SIRET n'est pas valide : vérifiez les 14 chiffres."))
    return digits


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def resolve_postal_code(raw: str, commune_insee: str | None = None) -> Commune:
    """Find the commune (hence the département) of a postal code from La Poste's table.

    When the code spans several départements the commune is required; when it spans one,
    any of its communes is enough to route the request.
    """
    code = "".join((raw or "").split())
    if not code:
        raise IntakeError(N_("Indiquez le code postal de votre entreprise."))
    if not code.isdigit() or len(code) != 5:
        raise IntakeError(N_("Le code postal compte 5 chiffres."))
    communes = communes_for(code)
    if not communes:
        raise IntakeError(N_("Ce code postal n'existe pas. Vérifiez-le."))
    if commune_insee:
        for commune in communes:
            if commune.insee == commune_insee:
                return commune
        raise IntakeError(N_("Cette commune ne correspond pas au code postal."), field="commune")
    if len({c.departement for c in communes}) > 1:
        raise AmbiguousPostalCode(communes)
    return communes[0]


def slot_window(slot: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The next occurrence of a quick-choice window, in UTC (today if it has not ended)."""
    start_t, end_t, _label = PREFERRED_SLOTS[slot]
    local_now = now.astimezone(tz)
    day = local_now.date()
    for _ in range(8):
        end = _local(day, end_t, tz)
        if day.weekday() in OPEN_WEEKDAYS and end > now:
            return _local(day, start_t, tz).astimezone(UTC), end.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("no opening day in the next week")  # pragma: no cover - 6 open days a week


def check_window(start: datetime, end: datetime, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Validate an explicit preferred window: one opening day, within hours, in the coming week."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    if end.tzinfo is None:
        end = end.replace(tzinfo=tz)
    if end <= start:
        raise IntakeError(N_("La fin du créneau doit suivre son début."))
    if end <= now:
        raise IntakeError(N_("Ce créneau est déjà passé."))
    if start > now + MAX_WINDOW_AHEAD:
        raise IntakeError(N_("Choisissez un créneau dans les 7 prochains jours."))
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    same_day = local_start.date() == local_end.date()
    within_hours = local_start.time() >= OPENING_TIME and local_end.time() <= CLOSING_TIME
    if not (same_day and within_hours and local_start.weekday() in OPEN_WEEKDAYS):
        raise IntakeError(N_("Choisissez un créneau du lundi au samedi, entre 8 h et 21 h."))
    return start.astimezone(UTC), end.astimezone(UTC)


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


@dataclass(frozen=True)
class Intake:
    """A validated submission, ready to be stored."""

    name: str
    business_name: str
    sector: str
    phone: str  # E.164
    postal_code: str
    commune: Commune
    topic: str
    description: str
    urgent: bool
    consent: bool
    siret: str | None = None
    email: str | None = None
    urgency_reason: str | None = None
    preferred_start: datetime | None = None
    preferred_end: datetime | None = None
    channel: str = "web"
    no_sms: bool = False  # the artisan prefers e-mail
    # False when the postal code serves several communes of one département and none was chosen:
    # the département (hence the unit) is known, the commune is not.
    commune_confirmed: bool = True
