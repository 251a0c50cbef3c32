"""Every text the product sends: to artisans (SMS or e-mail) and to staff (notifications).

Texts to artisans are short, French, in the GSM-7 alphabet where possible (one SMS segment):
GSM-7 has é è à ù but not ç ô ê or typographic quotes, so the wording avoids them.
Dates arrive formatted (``when``), so this module stays free of locale machinery.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

# GSM 03.38 basic character set (the extension table costs two septets and is avoided).
GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
           "¿abcdefghijklmnopqrstuvwxyzäöñüà")


def is_gsm7(text: str) -> bool:
    return set(text) <= GSM7


def sms_segments(text: str) -> int:
    """How many SMS the text costs (GSM-7: 160 / 153 per part; otherwise UCS-2: 70 / 67)."""
    single, multi = (160, 153) if is_gsm7(text) else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // multi)


def _when(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%d/%m} à {local:%H}h{local:%M}"


def confirmation(reference: str, deadline: datetime, status_url: str, tz: ZoneInfo) -> str:
    return f"CMA : demande {reference} enregistrée, rappel avant le {_when(deadline, tz)}. Suivi : {status_url}"


def unreachable(reference: str, site: str, chamber_phone: str) -> str:
    return (f"CMA : nous n'avons pas pu vous joindre (demande {reference}). "
            f"Refaites une demande sur {site} ou appelez le {chamber_phone}.")


def reminder(reference: str, status_url: str) -> str:
    """Someone asked again for this phone: the link goes to the contact details on file only."""
    return f"CMA : demande {reference} déjà en cours, inutile d'en refaire une. Suivi : {status_url}"


def follow_up(reference: str, when: datetime, tz: ZoneInfo) -> str:
    return f"CMA : comme convenu, nous vous rappelons le {_when(when, tz)} (demande {reference})."


# E-mail subjects, when the artisan is written to instead of texted.
ARTISAN_SUBJECTS = {"confirmation": "Votre demande de rappel est enregistrée",
                    "unreachable": "Nous n'avons pas pu vous joindre",
                    "reminder": "Votre demande de rappel est déjà en cours"}
FOLLOW_UP_SUBJECT = "Votre rappel est programmé"


def artisan_subject(kind: str) -> str:
    return ARTISAN_SUBJECTS.get(kind.split("-")[0], FOLLOW_UP_SUBJECT)


# --- to staff: escalation notifications (in the app and by e-mail) --------------------------------

LEVEL_TITLES = {
    "half": "Demande {ref} : la moitié du délai est passée",
    "senior": "Demande {ref} : 75 % du délai écoulé, rappel à faire",
    "breach": "Demande {ref} : délai de rappel dépassé",
}
LATER_LEVEL_TITLE = "Demande {ref} : toujours en attente après le délai"
# What became of a request whose alert is lifted, by its status ("rappelée" once called).
RESOLUTION_WORDS = {"cancelled": "annulée", "completed": "traitée", "unreachable": "close (injoignable)"}
CALLED_WORD = "rappelée"


def escalation_title(level_code: str, reference: str) -> str:
    return LEVEL_TITLES.get(level_code, LATER_LEVEL_TITLE).format(ref=reference)


def escalation_body(reference: str, topic: str, unit: str, deadline: str) -> str:
    return f"Demande {reference} ({topic}, unité {unit}) : échéance {deadline}, toujours pas rappelée."


def resolved_title(reference: str, what: str) -> str:
    return f"Demande {reference} {what}"


def resolved_body(reference: str, what: str, when: str) -> str:
    return f"La demande {reference} a été {what} le {when} : l'alerte est levée."


# --- the expected callback window, as people read it ----------------------------------------------

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def _clock(moment: datetime) -> str:
    return f"{moment:%H}h" if moment.minute == 0 else f"{moment:%H}h{moment:%M}"


def _day(local: datetime, today: datetime) -> str:
    days = (local.date() - today.date()).days
    if days == 0:
        return "aujourd'hui"
    if days == 1:
        part = "matin" if local.hour < 12 else "après-midi" if local.hour < 18 else "soir"
        return f"demain {part}"
    if days < 7:
        return WEEKDAYS[local.weekday()]
    return f"le {local:%d/%m}"


def moment_words(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """« aujourd'hui à 14h », « demain matin à 8h », « jeudi à 9h30 »."""
    local = moment.astimezone(tz)
    return f"{_day(local, now.astimezone(tz))} à {_clock(local)}"


def window_words(start: datetime, end: datetime, now: datetime, tz: ZoneInfo) -> str:
    """« aujourd'hui entre 14h et 16h », « demain matin entre 8h30 et 10h », « d'ici 10h45 »…
    (GSM-7, for the SMS as for the pages)."""
    local_start, local_end, today = start.astimezone(tz), end.astimezone(tz), now.astimezone(tz)
    if local_start <= today and (end - now).total_seconds() <= 45 * 60:
        return f"d'ici {_clock(local_end)}"
    if local_start.date() != local_end.date():
        return f"d'ici {_day(local_end, today)} {_clock(local_end)}"
    return f"{_day(local_start, today)} entre {_clock(local_start)} et {_clock(local_end)}"


def confirmation_with_window(reference: str, window: str, status_url: str) -> str:
    return f"CMA : demande {reference} enregistrée, rappel prévu {window}. Suivi : {status_url}"


def delay(reference: str, window: str) -> str:
    return (f"CMA : votre rappel (demande {reference}) est retardé, il est désormais prévu {window}. "
            "Gardez votre téléphone.")


# --- replies to the artisans' text messages (domain/sms_replies.py), GSM-7, one segment each -------

def sms_reply_cancelled(reference: str) -> str:
    """The sender's own request: its reference may be named, nothing else about it."""
    return f"CMA : votre demande de rappel {reference} a été annulée."


def sms_reply_not_cancellable() -> str:
    return "CMA : un conseiller traite votre demande en ce moment, il n'est plus possible de l'annuler."


def sms_reply_nothing_to_cancel() -> str:
    return "CMA : aucune demande de rappel en cours pour ce numéro."


def sms_reply_stopped() -> str:
    return ("CMA : c'est noté, vous ne recevrez plus de SMS de notre part. "
            "Une demande de rappel en cours reste valable (répondez ANNULER pour l'annuler).")


def sms_reply_help(chamber_phone: str) -> str:
    return (f"CMA : répondez ANNULER pour annuler votre demande de rappel, STOP pour ne plus recevoir "
            f"de SMS. Pour nous joindre : {chamber_phone}")
