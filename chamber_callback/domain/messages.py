"""Texts sent to artisans: short, French, in the GSM-7 alphabet where possible (one SMS segment).

GSM-7 has é è à ù but not ç ô ê or typographic quotes: the wording avoids them.
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


def follow_up(reference: str, when: datetime, tz: ZoneInfo) -> str:
    return f"CMA : comme convenu, nous vous rappelons le {_when(when, tz)} (demande {reference})."
