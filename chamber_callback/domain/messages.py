"""Every text the product sends: to artisans (SMS or e-mail) and to staff (notifications).

Texts to artisans are short, French, in the GSM-7 alphabet where possible (one SMS segment):
GSM-7 has é è à ù but not ç ô ê or typographic quotes, so the wording avoids them (and so must
a translation). Every text goes through gettext, in the locale the caller forces (the artisan's:
``CallbackRequest.locale``); dates arrive formatted (``when``) or as figures in the message.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from .intake import N_

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
    return _("%(day)s/%(month)s à %(hour)sh%(minute)s", day=f"{local:%d}", month=f"{local:%m}",
             hour=f"{local:%H}", minute=f"{local:%M}")


def confirmation(reference: str, deadline: datetime, status_url: str, tz: ZoneInfo) -> str:
    return _("CMA : demande %(reference)s enregistrée, rappel avant le %(deadline)s. Suivi : %(url)s",
             reference=reference, deadline=_when(deadline, tz), url=status_url)


def unreachable(reference: str, site: str, chamber_phone: str) -> str:
    return _("CMA : nous n'avons pas pu vous joindre (demande %(reference)s). "
             "Refaites une demande sur %(site)s ou appelez le %(phone)s.",
             reference=reference, site=site, phone=chamber_phone)


def reminder(reference: str, status_url: str) -> str:
    """Someone asked again for this phone: the link goes to the contact details on file only."""
    return _("CMA : demande %(reference)s déjà en cours, inutile d'en refaire une. Suivi : %(url)s",
             reference=reference, url=status_url)


def follow_up(reference: str, when: datetime, tz: ZoneInfo) -> str:
    return _("CMA : comme convenu, nous vous rappelons le %(when)s (demande %(reference)s).",
             when=_when(when, tz), reference=reference)


# E-mail subjects, when the artisan is written to instead of texted (translated when sent).
ARTISAN_SUBJECTS = {"confirmation": N_("Votre demande de rappel est enregistrée"),
                    "unreachable": N_("Nous n'avons pas pu vous joindre"),
                    "reminder": N_("Votre demande de rappel est déjà en cours")}
FOLLOW_UP_SUBJECT = N_("Votre rappel est programmé")


def artisan_subject(kind: str) -> str:
    return _(ARTISAN_SUBJECTS.get(kind.split("-")[0], FOLLOW_UP_SUBJECT))


# --- to staff: escalation notifications (in the app and by e-mail) --------------------------------

LEVEL_TITLES = {
    "half": N_("Demande %(ref)s : la moitié du délai est passée"),
    "senior": N_("Demande %(ref)s : 75 %% du délai écoulé, rappel à faire"),
    "breach": N_("Demande %(ref)s : délai de rappel dépassé"),
}
LATER_LEVEL_TITLE = N_("Demande %(ref)s : toujours en attente après le délai")
# What became of a request whose alert is lifted, by its status ("rappelée" once called);
# translated where the sentence is written.
RESOLUTION_WORDS = {"cancelled": N_("annulée"), "completed": N_("traitée"), "unreachable": N_("close (injoignable)")}
CALLED_WORD = N_("rappelée")


def escalation_title(level_code: str, reference: str) -> str:
    return _(LEVEL_TITLES.get(level_code, LATER_LEVEL_TITLE), ref=reference)


def escalation_body(reference: str, topic: str, unit: str, deadline: str) -> str:
    return _("Demande %(reference)s (%(topic)s, unité %(unit)s) : échéance %(deadline)s, toujours pas rappelée.",
             reference=reference, topic=topic, unit=unit, deadline=deadline)


def resolved_title(reference: str, what: str) -> str:
    return _("Demande %(reference)s %(what)s", reference=reference, what=_(what))


def resolved_body(reference: str, what: str, when: str) -> str:
    return _("La demande %(reference)s a été %(what)s le %(when)s : l'alerte est levée.",
             reference=reference, what=_(what), when=when)


# --- the expected callback window, as people read it ----------------------------------------------

WEEKDAYS = (N_("lundi"), N_("mardi"), N_("mercredi"), N_("jeudi"), N_("vendredi"), N_("samedi"), N_("dimanche"))


def _clock(moment: datetime) -> str:
    if moment.minute == 0:
        return _("%(hour)sh", hour=f"{moment:%H}")
    return _("%(hour)sh%(minute)s", hour=f"{moment:%H}", minute=f"{moment:%M}")


def _day(local: datetime, today: datetime) -> str:
    days = (local.date() - today.date()).days
    if days == 0:
        return _("aujourd'hui")
    if days == 1:
        return _("demain matin") if local.hour < 12 else _("demain après-midi") if local.hour < 18 else _("demain soir")
    if days < 7:
        return _(WEEKDAYS[local.weekday()])
    return _("le %(day)s/%(month)s", day=f"{local:%d}", month=f"{local:%m}")


def moment_words(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """« aujourd'hui à 14h », « demain matin à 8h », « jeudi à 9h30 »."""
    local = moment.astimezone(tz)
    return _("%(day)s à %(clock)s", day=_day(local, now.astimezone(tz)), clock=_clock(local))


def window_words(start: datetime, end: datetime, now: datetime, tz: ZoneInfo) -> str:
    """« aujourd'hui entre 14h et 16h », « demain matin entre 8h30 et 10h », « d'ici 10h45 »…
    (GSM-7, for the SMS as for the pages)."""
    local_start, local_end, today = start.astimezone(tz), end.astimezone(tz), now.astimezone(tz)
    if local_start <= today and (end - now).total_seconds() <= 45 * 60:
        return _("d'ici %(clock)s", clock=_clock(local_end))
    if local_start.date() != local_end.date():
        return _("d'ici %(day)s %(clock)s", day=_day(local_end, today), clock=_clock(local_end))
    return _("%(day)s entre %(start)s et %(end)s", day=_day(local_start, today), start=_clock(local_start),
             end=_clock(local_end))


def confirmation_with_window(reference: str, window: str, status_url: str) -> str:
    return _("CMA : demande %(reference)s enregistrée, rappel prévu %(window)s. Suivi : %(url)s",
             reference=reference, window=window, url=status_url)


def delay(reference: str, window: str) -> str:
    return _("CMA : votre rappel (demande %(reference)s) est retardé, il est désormais prévu %(window)s. "
             "Gardez votre téléphone.", reference=reference, window=window)


# --- replies to the artisans' text messages (domain/sms_replies.py), GSM-7, one segment each -------

def sms_reply_cancelled(reference: str) -> str:
    """The sender's own request: its reference may be named, nothing else about it."""
    return _("CMA : votre demande de rappel %(reference)s a été annulée.", reference=reference)


def sms_reply_not_cancellable() -> str:
    return _("CMA : un conseiller traite votre demande en ce moment, il n'est plus possible de l'annuler.")


def sms_reply_nothing_to_cancel() -> str:
    return _("CMA : aucune demande de rappel en cours pour ce numéro.")


def sms_reply_stopped() -> str:
    return _("CMA : c'est noté, vous ne recevrez plus de SMS de notre part. "
             "Une demande de rappel en cours reste valable (répondez ANNULER pour l'annuler).")


def sms_reply_help(chamber_phone: str) -> str:
    # ANNULER and STOP are the keywords the artisan texts back (``domain.sms_replies``): translate around them.
    return _("CMA : répondez ANNULER pour annuler votre demande de rappel, STOP pour ne plus recevoir "
             "de SMS. Pour nous joindre : %(phone)s", phone=chamber_phone)
