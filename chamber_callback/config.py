"""Configuration read from the environment, with defaults that run on a laptop.

Every setting can be overridden by an environment variable of the same name; the
docs/CONFIGURATION.md lists them all. ``create_app(config)`` accepts a dict that wins over both.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBEDDED_REDIS_PORT = 6479

_TRUE = {"1", "true", "yes", "on", "oui"}


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def parse_boolean(value: str | bool | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return value.strip().lower() in _TRUE


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def instance_dir() -> Path:
    """Where local files go (SQLite database, secret key, mail and SMS logs): ``INSTANCE_PATH``,
    else ``instance/`` next to the package. Read when the app is built, not at import."""
    return Path(_env("INSTANCE_PATH") or PROJECT_ROOT / "instance")


def embedded_redis_port() -> int:
    return int(_env("EMBEDDED_REDIS_PORT") or DEFAULT_EMBEDDED_REDIS_PORT)


def embedded_redis_url() -> str:
    return f"redis://127.0.0.1:{embedded_redis_port()}/0"


def _local_secret_key(instance: Path) -> str:
    """A key generated once and kept under instance/, so restarts keep sessions valid."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _local_vapid_key(instance: Path) -> str:
    """Outside production, a Web Push key generated once under instance/ (``flask vapid-keys`` makes one to
    put in the environment in production)."""
    path = instance / "vapid_private_key"
    if path.exists():
        return path.read_text().strip()
    from .services.push import new_private_key

    instance.mkdir(parents=True, exist_ok=True)
    key = new_private_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _normalise_database_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config() -> dict:
    """Read the environment once; returns the Flask config mapping."""
    instance = instance_dir()
    app_env = (_env("APP_ENV") or _env("FLASK_ENV") or "development").lower()
    production = app_env == "production"

    database_url = _env("DATABASE_URL")
    secret_key = _env("SECRET_KEY")
    if production:
        missing = [name for name, value in (("SECRET_KEY", secret_key), ("DATABASE_URL", database_url),
                                            ("PUBLIC_BASE_URL", _env("PUBLIC_BASE_URL"))) if not value]
        if not _env("SMTP_URL") and not parse_boolean(_env("MAIL_LOG_IN_PRODUCTION")):
            missing.append("SMTP_URL (or MAIL_LOG_IN_PRODUCTION=1 to write e-mails to instance/mail.log)")
        if missing:
            raise ConfigError(
                f"APP_ENV=production needs {', '.join(missing)} in the environment "
                "(see docs/PRODUCTION.md)."
            )
    if not database_url:
        database_url = f"sqlite:///{instance / 'chamber_callback.sqlite3'}"
    redis_url = _env("REDIS_URL", embedded_redis_url())
    for name, allowed in (("SLA_CLOCK", ("calendar", "business")), ("SLA_MET_ON", ("first_attempt", "first_reach")),
                          ("LEGAL_BASIS", ("consent", "public_interest"))):
        if _env(name) and _env(name) not in allowed:
            raise ConfigError(f"{name} must be one of: {', '.join(allowed)} (got {_env(name)!r}).")

    return {
        "APP_ENV": app_env,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secret_key or _local_secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": _normalise_database_url(database_url),
        "REDIS_URL": redis_url,
        # Absolute links in messages and API answers; locally, taken from the request when unset.
        "PUBLIC_BASE_URL": (_env("PUBLIC_BASE_URL") or "").rstrip("/"),
        "TIMEZONE": _env("TIMEZONE", "Europe/Paris"),
        "CORS_ORIGINS": [o.strip() for o in (_env("CORS_ORIGINS", "") or "").split(",") if o.strip()],
        "LOG_FORMAT": _env("LOG_FORMAT", "json" if production else "text"),
        "TRUSTED_PROXIES": int(_env("TRUSTED_PROXIES", "0")),
        # SLA and queue tuning
        "SLA_HOURS": float(_env("SLA_HOURS", "24")),
        # Personal data kept, by kind (days; see docs/CONFIGURATION.md for why these defaults).
        "RETENTION_DAYS": int(_env("RETENTION_DAYS", "365")),  # requests, counted from their closing
        "RETENTION_NOTES_DAYS": int(_env("RETENTION_NOTES_DAYS", "180")),  # agents' call notes
        "RETENTION_MESSAGES_DAYS": int(_env("RETENTION_MESSAGES_DAYS", "90")),  # texts and e-mails sent
        "RETENTION_AUDIT_DAYS": int(_env("RETENTION_AUDIT_DAYS", "365")),  # audit details, reads of personal data
        # Why the chamber processes the artisans' data (RGPD art. 6): consent, or a public-interest
        # mission (6-1-e), for which the form informs instead of asking.
        "LEGAL_BASIS": _env("LEGAL_BASIS", "consent"),
        "DPO_CONTACT": _env("DPO_CONTACT", ""),
        "PRIVACY_NOTICE_URL": _env("PRIVACY_NOTICE_URL", ""),
        "SLA_CLOCK": _env("SLA_CLOCK", "calendar"),  # calendar | business
        "SLA_MET_ON": _env("SLA_MET_ON", "first_attempt"),  # first_attempt | first_reach
        "ESCALATION_REPEAT_HOURS": float(_env("ESCALATION_REPEAT_HOURS", "4")),
        "ESCALATION_LEVELS": _escalation_levels(),
        "SMTP_URL": _env("SMTP_URL"),
        # Without SMTP_URL, e-mails go to instance/mail.log; production refuses that unless told so.
        "MAIL_LOG_IN_PRODUCTION": parse_boolean(_env("MAIL_LOG_IN_PRODUCTION")),
        # Operators' token (Bearer): /metrics, and the details of /healthz and /readyz (OPS_TOKEN: its old name).
        "OPERATOR_TOKEN": _env("OPERATOR_TOKEN") or _env("OPS_TOKEN"),
        "MAIL_FROM": _env("MAIL_FROM", "rappels@cma.invalid"),
        "MAIL_LOG": str(instance / "mail.log"),
        "TELEPHONY": _env("TELEPHONY", "console"),  # console | twilio
        "TELEPHONY_SIMULATOR": _env("TELEPHONY_SIMULATOR"),  # e.g. reached:60,no-answer:20,voicemail:10,busy:5,failed:5
        "TWILIO_ACCOUNT_SID": _env("TWILIO_ACCOUNT_SID"),
        "TWILIO_AUTH_TOKEN": _env("TWILIO_AUTH_TOKEN"),
        "TWILIO_CALLER_ID": _env("TWILIO_CALLER_ID"),
        "TWILIO_SMS_SENDER": _env("TWILIO_SMS_SENDER"),
        # Artisans may answer texts (ANNULER, STOP) at /webhooks/twilio/sms/inbound; off: 404.
        "SMS_REPLIES_ENABLED": parse_boolean(_env("SMS_REPLIES_ENABLED")),
        # The phone line (« A call comes in » → /webhooks/twilio/voice/inbound).
        "PHONE_VOICE": _env("PHONE_VOICE", "Polly.Lea"),
        "PHONE_PROMPTS_DIR": _env("PHONE_PROMPTS_DIR"),  # <prompt key>.mp3|.wav replaces a spoken prompt
        "PHONE_DEFAULT_POSTAL_CODE": _env("PHONE_DEFAULT_POSTAL_CODE", "75001"),  # routes callers who give none
        "PHONE_SIMULATOR": parse_boolean(_env("PHONE_SIMULATOR", "false" if production else "true")),
        # An agent free now and nobody waiting: the caller may press 1 to be called at once (the bridge).
        "INBOUND_CONNECT_WHEN_FREE": parse_boolean(_env("INBOUND_CONNECT_WHEN_FREE")),
        "DIAL_TIMEOUT_SECONDS": int(_env("DIAL_TIMEOUT_SECONDS", "25")),
        "CALL_STUCK_MINUTES": float(_env("CALL_STUCK_MINUTES", "15")),
        "TWILIO_CPS": int(_env("TWILIO_CPS", "1")),
        "SMS_LOG": str(instance / "sms.log"),
        "OFFER_TIMEOUT_SECONDS": int(_env("OFFER_TIMEOUT_SECONDS", "120")),
        "MAX_MISSED_OFFERS": int(_env("MAX_MISSED_OFFERS", "2")),
        "OVERFLOW_AFTER_MINUTES": float(_env("OVERFLOW_AFTER_MINUTES", "30")),
        "RETRY_GAP_MINUTES": float(_env("RETRY_GAP_MINUTES", "30")),
        "MAX_ATTEMPTS": int(_env("MAX_ATTEMPTS", "3")),
        # The artisan is told once when the expected callback slips this long past the window first told.
        "ETA_DELAY_NOTICE_MINUTES": float(_env("ETA_DELAY_NOTICE_MINUTES", "120")),
        # A submission's window reuses its unit's pace, roster and calendar this long (per web process).
        "ETA_CONTEXT_SECONDS": float(_env("ETA_CONTEXT_SECONDS", "10")),
        # Topics, départements and admins' settings are kept this long per process (services/reference.py).
        "REFERENCE_CACHE_SECONDS": float(_env("REFERENCE_CACHE_SECONDS", "5")),
        "LOGIN_LIMIT": _env("LOGIN_LIMIT", "5/minute;20/hour"),
        # Failed sign-ins and codes for one account from anywhere: a ceiling against many addresses.
        "LOGIN_ACCOUNT_LIMIT": _env("LOGIN_ACCOUNT_LIMIT", "100/day"),
        "SECOND_FACTOR_ACCOUNT_LIMIT": _env("SECOND_FACTOR_ACCOUNT_LIMIT", "10/hour;30/day"),
        # A staff session ends after this long without a request, and this long after signing in.
        "STAFF_SESSION_IDLE_HOURS": float(_env("STAFF_SESSION_IDLE_HOURS", "8")),
        "STAFF_SESSION_MAX_HOURS": float(_env("STAFF_SESSION_MAX_HOURS", "16")),
        "CONSOLE_POLL_SECONDS": int(_env("CONSOLE_POLL_SECONDS", "3")),
        "DASHBOARD_POLL_SECONDS": int(_env("DASHBOARD_POLL_SECONDS", "10")),
        # The dashboard's counts and charts are shared this long by managers watching the same scope.
        "DASHBOARD_CACHE_SECONDS": float(_env("DASHBOARD_CACHE_SECONDS", "5")),
        "FORECAST_CACHE_SECONDS": float(_env("FORECAST_CACHE_SECONDS", "60")),
        "CHAMBER_PHONE": _env("CHAMBER_PHONE", "09 00 00 00 00"),
        # Web Push for offers (``flask vapid-keys``); without a key in production, no pushes are sent.
        "VAPID_PRIVATE_KEY": _env("VAPID_PRIVATE_KEY") or ("" if production else _local_vapid_key(instance)),
        # Who runs the site, for the push services (a mailto: or https: address they can reach).
        "VAPID_SUBJECT": _env("VAPID_SUBJECT", "mailto:contact@example.org"),
        # When the chamber calls back and answers, as the public pages say it (editable in /admin/crise).
        "CHAMBER_HOURS": _env("CHAMBER_HOURS", "du lundi au samedi, 8 h – 21 h"),
        # The chamber's own templates (footer, privacy link…), looked up before the packaged ones.
        "SITE_TEMPLATES": _env("SITE_TEMPLATES", str(PROJECT_ROOT / "templates")),
        "CHAMBER_NAME": _env("CHAMBER_NAME", "Chambre de métiers et de l'artisanat"),
        # The local time (HH:MM) from which yesterday's needs report is e-mailed to the prefecture.
        "PREFECTURE_REPORT_TIME": _report_time(),
        # Rate limiting (per client IP); falls back to memory when Redis is unreachable.
        "RATELIMIT_ENABLED": parse_boolean(_env("RATELIMIT_ENABLED"), default=True),
        "RATELIMIT_INTAKE": _env("RATELIMIT_INTAKE", "5/minute;30/hour"),
        "RATELIMIT_INTAKE_ATTEMPTS": _env("RATELIMIT_INTAKE_ATTEMPTS", "20/minute;200/hour"),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", redis_url),
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        # A moving window: no double burst across a minute boundary.
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_KEY_PREFIX": "chamber-callback",
        # Flask / extensions
                "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": _env("TIMEZONE", "Europe/Paris"),
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "JSON_SORT_KEYS": False,
    }


def _report_time() -> str:
    value = _env("PREFECTURE_REPORT_TIME", "07:00")
    match = re.fullmatch(r"([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])", value.strip())
    if not match:
        raise ConfigError(f"PREFECTURE_REPORT_TIME must be a local time such as 07:00 (got {value!r}).")
    return f"{int(match[1]):02d}:{match[2]}"


def _escalation_levels():
    from .domain.escalation import DEFAULT_LEVELS_SPEC, parse_levels

    spec = _env("ESCALATION_LEVELS", DEFAULT_LEVELS_SPEC)
    try:
        return parse_levels(spec)
    except ValueError as error:
        raise ConfigError(f"ESCALATION_LEVELS: {error}") from None


def engine_options(database_url: str) -> dict:
    # hide_parameters: a failed INSERT must not write the artisan's name or phone into the logs.
    if database_url.startswith("postgres"):
        # Per process: gunicorn's threads (WEB_THREADS, 4) each hold at most one connection at a time.
        return {"pool_pre_ping": True, "hide_parameters": True,
                "pool_size": int(_env("DATABASE_POOL_SIZE", "5")),
                "max_overflow": int(_env("DATABASE_MAX_OVERFLOW", "5")),
                "pool_timeout": float(_env("DATABASE_POOL_TIMEOUT", "10"))}
    return {"connect_args": {"timeout": 15}, "hide_parameters": True}
