"""Runtime settings: what an admin changed on the administration pages wins over the configuration.

``get(name)`` returns the database override when there is one, else ``current_app.config[name]``.
It works in a request, an RQ job or a CLI command (any app context). Overrides are read once per
request; outside requests (jobs, ticks) they are kept a few seconds, so a tick over many rows does
not query the table for each of them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from time import monotonic
from types import MappingProxyType

from flask import current_app, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..domain.actors import Actor
from ..domain.escalation import PRIORITY_RAISED, PRIORITY_TOP, EscalationLevel, parse_levels
from ..domain.intake import one_line
from ..extensions import begin_write, db
from ..models import Setting
from . import reference
from .audit import record_event

_CACHE_KEY = "chamber_callback.settings"
NON_REQUEST_TTL_SECONDS = 5.0

# Defaults of the settings that only exist here (the crisis switches); the others come from config.py.
DEFAULTS = {
    "TWO_FACTOR_FOR_EVERYONE": False,
    "INTAKE_PAUSED": False,
    "INTAKE_PAUSED_MESSAGE": "",
    "INTAKE_URGENT_ONLY": False,
    "PUBLIC_BANNER": "",
    "PARTNER_SITES": "",  # lines of "code origin": the sites that may show the « Être rappelé » button
    "PREFECTURE_REPORT_RECIPIENTS": "",  # e-mail addresses, one a line: the daily needs report (empty: none)
}


class SettingsError(ValueError):
    """Invalid values: ``errors`` maps each setting to a French message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- validation: each returns the normalised value or raises ValueError(message) -------------------

def _number(low: float, high: float, integer: bool = False):
    def check(value):
        try:
            number = int(value) if integer else float(value)
        except (TypeError, ValueError):
            raise ValueError(_l("Un nombre est attendu.")) from None
        if integer and isinstance(value, float) and value != int(value):
            raise ValueError(_l("Un nombre entier est attendu."))
        if not low <= number <= high:
            raise ValueError(_l("Entre %(low)s et %(high)s.", low=_fmt(low), high=_fmt(high)))
        return number
    return check


def _fmt(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number).replace(".", ",")


def _choice(*allowed: str):
    def check(value):
        if value not in allowed:
            raise ValueError(_l("Valeur inconnue."))
        return value
    return check


def _boolean(value):
    if not isinstance(value, bool):
        raise ValueError(_l("Oui ou non attendu."))  # noqa: TRY004 - reported as a form error
    return value


def _text(max_length: int):
    def check(value):
        value = one_line(value)
        if len(value) > max_length:
            raise ValueError(_l("%(n)d caractères au plus.", n=max_length))
        return value
    return check


def _levels_spec(value):
    spec = str(value or "").strip()
    if not spec:
        raise ValueError(_l("Indiquez au moins un niveau, par exemple « breach@100:top,manager,overflow »."))
    try:
        levels = parse_levels(spec)
    except ValueError as error:
        raise ValueError(_l("Niveaux invalides (%(error)s). Format : code@pourcentage:options ; options parmi "
                            "raise, top, senior, manager, overflow.", error=str(error))) from None
    if not levels:
        raise ValueError(_l("Indiquez au moins un niveau."))
    return format_levels(levels)


def _url(value):
    value = one_line(value)
    if value and (not re.fullmatch(r"https://[^\s<>\"']{4,290}", value)):
        raise ValueError(_l("Une adresse commençant par https:// est attendue."))
    return value


# --- partner sites (the « Être rappelé » button): lines of "code origin" ---------------------------

PARTNER_CODE = re.compile(r"[a-z0-9-]{1,32}")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HTTPS_ORIGIN = re.compile(rf"https://(?P<host>{_LABEL}(?:\.{_LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?")
# Plain http on this machine, for the tests and the demo; never in production.
_LOCAL_ORIGIN = re.compile(r"http://(?P<host>127\.0\.0\.1|localhost):(?P<port>[0-9]{1,5})")
PARTNER_SITES_MAX_LINES = 100
PARTNER_EXAMPLE = "federation-boulangerie https://www.boulangers.example.fr"


def _partner_origin(raw: str, production: bool) -> str | None:
    """The origin as browsers write it (lower case, no default port), or None when not accepted."""
    value = raw.lower().removesuffix("/")
    match = _HTTPS_ORIGIN.fullmatch(value) or (None if production else _LOCAL_ORIGIN.fullmatch(value))
    if match is None or len(match["host"]) > 253:
        return None
    port = match["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        return None
    if port is None or (value.startswith("https://") and int(port) == 443):
        return f"https://{match['host']}"
    return f"{value.split('://')[0]}://{match['host']}:{int(port)}"


def parse_partner_sites(text, *, production: bool) -> tuple[list[tuple[str, str]], list[str]]:
    """The (code, origin) pairs of the setting, in order and without repeats, and one French message
    per bad line. A partner with two addresses (with and without www) takes two lines."""
    pairs: list[tuple[str, str]] = []
    errors: list[str] = []
    lines = [line.strip() for line in str(text or "").replace("\r\n", "\n").split("\n")]
    lines = [(number, line) for number, line in enumerate(lines, 1) if line]
    if len(lines) > PARTNER_SITES_MAX_LINES:
        return [], [str(_l("%(n)d sites au plus.", n=PARTNER_SITES_MAX_LINES))]
    for number, line in lines:
        words = line.split()
        if len(words) != 2:
            errors.append(str(_l("Ligne %(line)d : écrivez le code du partenaire puis l'adresse de son site, séparés "
                                 "par une espace, par exemple « %(example)s ».", line=number, example=PARTNER_EXAMPLE)))
            continue
        code, origin_text = words
        if not PARTNER_CODE.fullmatch(code):
            errors.append(str(_l("Ligne %(line)d : le code « %(code)s » n'est pas valide (lettres minuscules sans "
                                 "accent, chiffres et tirets, 32 au plus).", line=number, code=code[:40])))
            continue
        origin = _partner_origin(origin_text, production)
        if origin is None:
            if production and _LOCAL_ORIGIN.fullmatch(origin_text.lower().removesuffix("/")):
                errors.append(str(_l("Ligne %(line)d : une adresse http://127.0.0.1 ou http://localhost n'est "
                                     "acceptée qu'en dehors de la production.", line=number)))
            else:
                errors.append(str(_l("Ligne %(line)d : « %(origin)s » n'est pas une adresse de site acceptée : "
                                     "https:// puis le nom du site, éventuellement suivi d'un port, sans chemin "
                                     "(par exemple https://www.boulangers.example.fr).",
                                     line=number, origin=origin_text[:80])))
            continue
        if (code, origin) not in pairs:
            pairs.append((code, origin))
    return pairs, errors


def _production() -> bool:
    return current_app.config.get("APP_ENV") == "production"


def _partner_sites(value):
    pairs, errors = parse_partner_sites(value, production=_production())
    if errors:
        raise ValueError(" ".join(errors[:3]) + (" …" if len(errors) > 3 else ""))
    return "\n".join(f"{code} {origin}" for code, origin in pairs)


@lru_cache(maxsize=8)
def _partners_from(text: str, production: bool):
    partners: dict[str, tuple[str, ...]] = {}
    for code, origin in parse_partner_sites(text, production=production)[0]:
        partners[code] = (*partners.get(code, ()), origin)
    return MappingProxyType(partners)


def partner_sites(read=None):
    """Allowed partners: ``{code: (origin, …)}``. Lines no longer accepted (an http://localhost kept from
    a test, once in production) are left out; the configuration is used when the database fails."""
    return _partners_from(str((read or display_get)("PARTNER_SITES") or ""), _production())


# --- the addresses the prefecture's daily report goes to -------------------------------------------

EMAIL_LIST_MAX = 50
_EMAIL_SEPARATORS = re.compile(r"[,;\s]+")


def parse_email_list(text) -> tuple[list[str], list[str]]:
    """The addresses of a comma, semicolon or line separated list, normalised and without repeats,
    and one French message per address refused."""
    from email_validator import EmailNotValidError, validate_email

    addresses: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()
    words = [word for word in _EMAIL_SEPARATORS.split(str(text or "")) if word]
    if len(words) > EMAIL_LIST_MAX:
        return [], [str(_l("%(n)d adresses au plus.", n=EMAIL_LIST_MAX))]
    for word in words:
        try:
            address = validate_email(word, check_deliverability=False).normalized
        except EmailNotValidError:
            errors.append(str(_l("« %(address)s » n'est pas une adresse e-mail valide.", address=word[:80])))
            continue
        if address.lower() not in seen:
            seen.add(address.lower())
            addresses.append(address)
    return addresses, errors


def _email_list(value):
    addresses, errors = parse_email_list(value)
    if errors:
        raise ValueError(" ".join(errors[:3]) + (" …" if len(errors) > 3 else ""))
    return "\n".join(addresses)


def report_recipients(read=None) -> list[str]:
    """The addresses the prefecture's daily report goes to (none: no send)."""
    return parse_email_list((read or get)("PREFECTURE_REPORT_RECIPIENTS"))[0]


def _phone(value):
    value = one_line(value)
    if not re.fullmatch(r"\+?[0-9 .()-]{4,25}", value):
        raise ValueError(_l("Numéro de téléphone invalide (chiffres, espaces, + et points)."))
    return value


VALIDATORS = {
    "SLA_HOURS": _number(0.1, 240),
    "SLA_CLOCK": _choice("calendar", "business"),
    "SLA_MET_ON": _choice("first_attempt", "first_reach"),
    "ESCALATION_LEVELS": _levels_spec,  # stored as its text spec, read back as parsed levels
    "ESCALATION_REPEAT_HOURS": _number(0, 168),
    "OFFER_TIMEOUT_SECONDS": _number(15, 3600, integer=True),
    "RETRY_GAP_MINUTES": _number(1, 1440),
    "MAX_ATTEMPTS": _number(1, 10, integer=True),
    "INTAKE_PAUSED": _boolean,
    "INTAKE_PAUSED_MESSAGE": _text(500),
    "INTAKE_URGENT_ONLY": _boolean,
    "PUBLIC_BANNER": _text(500),
    "CHAMBER_PHONE": _phone,
    "CHAMBER_HOURS": _text(120),
    "TWO_FACTOR_FOR_EVERYONE": _boolean,
    "DPO_CONTACT": _text(200),
    "PRIVACY_NOTICE_URL": _url,
    "PARTNER_SITES": _partner_sites,
    "PREFECTURE_REPORT_RECIPIENTS": _email_list,
}


# --- escalation levels as text ---------------------------------------------------------------------

def format_levels(levels: tuple[EscalationLevel, ...]) -> str:
    """The ``code@percent:options`` spec of parsed levels (the inverse of parse_levels)."""
    parts = []
    for level in levels:
        options = []
        if level.priority >= PRIORITY_TOP:
            options.append("top")
        elif level.priority >= PRIORITY_RAISED:
            options.append("raise")
        options += list(level.notify)
        if level.overflow:
            options.append("overflow")
        percent = level.share * 100
        percent_text = str(round(percent)) if abs(percent - round(percent)) < 1e-9 else f"{percent:g}"
        parts.append(f"{level.code}@{percent_text}" + (":" + ",".join(options) if options else ""))
    return "; ".join(parts)


@lru_cache(maxsize=32)
def _parsed_levels(spec: str) -> tuple[EscalationLevel, ...]:
    return parse_levels(spec)


# --- reading -----------------------------------------------------------------------------------------

def _overrides() -> dict:
    if has_request_context():
        cached = request.environ.get(_CACHE_KEY)
        if cached is None:
            cached = request.environ[_CACHE_KEY] = _load()
        return cached
    cached = g.get(_CACHE_KEY)
    if cached is None or monotonic() - cached[0] > NON_REQUEST_TTL_SECONDS:
        cached = (monotonic(), _load())
        setattr(g, _CACHE_KEY, cached)
    return cached[1]


def _load() -> dict:
    return reference.setting_overrides()


def _forget() -> None:
    if has_request_context():
        request.environ.pop(_CACHE_KEY, None)
    g.pop(_CACHE_KEY, None)


def _config_value(name: str):
    if name in current_app.config:
        return current_app.config[name]
    return DEFAULTS[name]


def get(name: str):
    """The value in force: the admin's override if any, else the configuration."""
    overrides = _overrides()
    if name in overrides:
        value = overrides[name]
        return _parsed_levels(value) if name == "ESCALATION_LEVELS" else value
    return _config_value(name)


def display_get(name: str):
    """For page templates (error pages included): the configuration when the database fails."""
    try:
        return get(name)
    except SQLAlchemyError:
        db.session.rollback()
        return _config_value(name)


def public_banner() -> str:
    """The crisis message of the public pages (none on staff pages)."""
    from flask import request as http_request

    if not has_request_context() or not (http_request.endpoint or "").startswith("public."):
        return ""
    return display_get("PUBLIC_BANNER") or ""


def raw(name: str):
    """The value as shown and stored (escalation levels as text)."""
    value = get(name)
    return format_levels(value) if name == "ESCALATION_LEVELS" else value


def is_overridden(name: str) -> bool:
    return name in _overrides()


@dataclass(frozen=True)
class IntakeState:
    """The crisis switches as the public pages need them."""

    paused: bool
    paused_message: str
    urgent_only: bool
    banner: str
    phone: str


def intake_state(read=get) -> IntakeState:
    return IntakeState(paused=bool(read("INTAKE_PAUSED")), paused_message=read("INTAKE_PAUSED_MESSAGE") or "",
                       urgent_only=bool(read("INTAKE_URGENT_ONLY")), banner=read("PUBLIC_BANNER") or "",
                       phone=read("CHAMBER_PHONE") or "")


# --- writing -----------------------------------------------------------------------------------------

def validate(changes: dict) -> dict:
    """Normalised values, or SettingsError with one message per bad setting."""
    clean, errors = {}, {}
    for name, value in changes.items():
        if name not in VALIDATORS:
            errors[name] = str(_l("Réglage inconnu."))
            continue
        try:
            clean[name] = VALIDATORS[name](value)
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise SettingsError(errors)
    return clean


def update(changes: dict, actor: Actor, now: datetime) -> dict[str, dict]:
    """Validate then write the changed settings in one transaction, one audit event per changed key.

    Returns ``{name: {"old": …, "new": …}}`` for the keys that really changed.
    """
    clean = validate(changes)
    for attempt in range(2):
        try:
            return _write(clean, actor, now)
        except IntegrityError:  # another admin created the same key at that instant: read it and compare again
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def _write(clean: dict, actor: Actor, now: datetime) -> dict[str, dict]:
    _forget()
    begin_write()
    stored = {row.key: row for row in db.session.scalars(
        select(Setting).where(Setting.key.in_(list(clean))).with_for_update())}
    changed = {}
    for name, new in clean.items():
        old = stored[name].value if name in stored else raw_config(name)
        if old == new:
            continue
        row = stored.get(name)
        if row is None:
            row = Setting(key=name)
            db.session.add(row)
        row.value, row.updated_at = new, now
        row.updated_by_id = int(actor.id) if actor.type == "staff" and (actor.id or "").isdigit() else None
        changed[name] = {"old": old, "new": new}
        record_event(request_id=None, action="admin.settings_updated", actor=actor, now=now,
                     data={"changes": {name: {"old": old, "new": new}}})
    db.session.commit()
    _forget()
    return changed


def raw_config(name: str):
    value = _config_value(name)
    return format_levels(value) if name == "ESCALATION_LEVELS" else value
