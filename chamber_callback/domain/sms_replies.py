"""What an artisan's text message to the chamber's number asks for: a keyword.

The first word of the message decides, whatever its case and accents, with punctuation around
it ignored: « annuler », « Annulé », « ANNULER K7MA-4XPT », « Stop. », « arrêt », « STOP SMS ».
A message that only mentions a keyword later (« je veux annuler ») gets the help text, which
names the keywords: cancelling a request on a guess would be worse than asking again.

- cancel: ANNULER and its forms (annule, annulé(e), annulez, annulation). What follows (a
  reference, « svp ») is ignored: only the sender's own active request can be cancelled.
- stop: STOP and the French ARRET / ARRETER (arrête, arrêtez), DESABONNER, DESINSCRIRE (and
  their nouns), plus Twilio's own opt-out words (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
  REVOKE, OPTOUT): Twilio blocks a number that sends one of those by itself, so the chamber's
  list must know it too. CANCEL is therefore a STOP here, not a cancellation.
- help: anything else (an empty message too).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Literal

Keyword = Literal["cancel", "stop", "help"]

CANCEL_WORDS = frozenset({"annuler", "annule", "annulee", "annulez", "annulation"})
STOP_WORDS = frozenset({
    "stop", "arret", "arreter", "arrete", "arretez",
    "desabonner", "desabonnement", "desinscrire", "desinscription",
    # Twilio's default opt-out keywords (it blocks the number itself when one is the whole message).
    "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
})
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case without accents: « Arrêt » → « arret », « ANNULÉ » → « annule »."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def first_word(text: str) -> str:
    match = _WORD.search(fold(text))
    return match.group(0) if match else ""


def keyword_of(text: str | None) -> Keyword:
    """« cancel », « stop » or « help » for the text of a message (see the module's docstring)."""
    word = first_word(text or "")
    if word in CANCEL_WORDS:
        return "cancel"
    if word in STOP_WORDS:
        return "stop"
    return "help"
