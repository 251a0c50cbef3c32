"""The chamber's phone line: what a caller hears and keys, step by step (pure).

A call goes: the welcome (the crisis banner, whether the chamber is open now); the number to call
back (the one shown, « tapez 1 », or another one keyed in, read back for confirmation); the topic
(the active topics in their admin order, at most 9, « autre » last); urgency; optionally the
postal code (which routes to the right unit). Then the request is made through the same intake
as the web form (``services.phone_line``), and the caller hears its reference and when the phone
should ring.

Every step is short: ``*`` repeats it, a wrong key says so and asks again, silence asks once more
then says goodbye with the website's address. A withheld caller ID goes straight to keying in a
number. The texts are French (through gettext, like every text); each fixed one has a key, so a
chamber may replace it with a recording (``PHONE_PROMPTS_DIR``). Numbers and references are read
the French way (``num2words``, lang fr), for the fr-FR voice.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _
from num2words import num2words

from .intake import IntakeError, format_phone_national, normalise_phone, resolve_postal_code

MAX_TOPICS = 9
MAX_MISSES = 2  # silences or wrong keys in a step before goodbye (the menu is heard twice)
REPEAT_KEY = "*"
DIGITS_TIMEOUT = 6  # seconds of silence before Twilio gives up a gather
NUMBER_TIMEOUT = 10  # keying ten digits takes longer

# Caller IDs that cannot be called back: withheld ones, and the placeholders Twilio shows for them
# (they spell ANONYMOUS, UNAVAILABLE, UNKNOWN, BLOCKED and RESTRICTED on a keypad).
WITHHELD = frozenset({"", "anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "withheld"})
PLACEHOLDERS = frozenset({"266696687", "86282452253", "8656696", "2562533", "7378742833"})


class Step(StrEnum):
    NUMBER = "number"  # 1: the number shown, 2: another one
    KEY_NUMBER = "key_number"  # ten digits, then #
    CONFIRM = "confirm"  # 1: that number, 2: key it again
    TOPIC = "topic"
    URGENCY = "urgency"
    POSTAL = "postal"  # five digits then #, or # alone
    CONNECT = "connect"  # an agent is free now: 1 to be called at once, 2 later (INBOUND_CONNECT_WHEN_FREE)


# Where a call may end (``InboundCall.outcome``), besides hanging up in the menu.
OUTCOMES = ("created", "connected", "existing", "refused", "paused", "no_input", "failed", "hung_up")


@dataclass(frozen=True)
class Say:
    text: str
    key: str | None = None  # a fixed prompt, which a recording may replace


@dataclass(frozen=True)
class Gather:
    step: Step
    num_digits: int | None = 1  # None: until the finish key
    finish_on_key: str = ""
    timeout: int = DIGITS_TIMEOUT


@dataclass(frozen=True)
class Reply:
    """What the caller hears, then either the next gather or the end of the call."""

    says: tuple[Say, ...]
    gather: Gather | None = None
    outcome: str | None = None  # set when the call ends here


@dataclass
class CallState:
    """Where a call is (stored with the call as JSON)."""

    step: Step | None = None
    misses: int = 0
    number: str | None = None  # E.164, chosen
    source: str | None = None  # "caller" or "keyed"
    pending: str | None = None  # a keyed number waiting for its confirmation
    topic: str | None = None
    urgent: bool | None = None
    postal_code: str | None = None
    offered: list | None = None  # the topics as they were read out, [[code, label], …]

    def to_json(self) -> dict:
        return {"step": self.step.value if self.step else None, "misses": self.misses, "number": self.number,
                "source": self.source, "pending": self.pending, "topic": self.topic, "urgent": self.urgent,
                "postal_code": self.postal_code, "offered": self.offered}

    @classmethod
    def from_json(cls, data: dict | None) -> CallState:
        """Read back tolerantly: unknown keys are dropped, an unknown step starts the menu again."""
        data = dict(data or {})
        step = data.pop("step", None)
        known = {name for name in cls.__dataclass_fields__ if name != "step"}
        return cls(step=Step(step) if step in Step._value2member_map_ else None,
                   **{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Context:
    """What the menu needs to know of the chamber now."""

    topics: Sequence[tuple[str, str]]  # (code, label) in admin order, active only
    website: str
    banner: str = ""
    open_now: bool = True
    opens: str | None = None  # « demain à 8 h » when closed
    urgent_only: bool = False
    caller: str | None = None  # E.164 of the caller ID, when it can be called back


# --- numbers and references, as they are read aloud ----------------------------------------------

def _pair(two: str) -> str:
    words = num2words(int(two), lang="fr")
    return f"zéro {words}" if two.startswith("0") else words


def spoken_number(e164: str) -> str:
    """« zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit » for +33612345678;
    other countries' numbers digit by digit."""
    national = "".join(ch for ch in format_phone_national(e164) if ch.isdigit())
    if len(national) == 10 and national.startswith("0"):  # metropolitan and overseas numbers alike
        return ", ".join(_pair(national[i:i + 2]) for i in range(0, 10, 2))
    return ", ".join(num2words(int(d), lang="fr") for d in e164.lstrip("+"))


def spoken_reference(reference: str) -> str:
    """« K, sept, M, A, tiret, quatre, X, P, T »: letter by letter, digits as words."""
    parts = []
    for char in reference:
        if char.isdigit():
            parts.append(num2words(int(char), lang="fr"))
        elif char == "-":
            parts.append("tiret")
        else:
            parts.append(char.upper())
    return ", ".join(parts)


CLOCK = re.compile(r"\b0?([0-9]{1,2})h([0-9]{2})?\b")


def spoken_times(text: str) -> str:
    """« 08h30 » as « 8 heures 30 », « 14h » as « 14 heures » (what a voice reads well)."""
    return CLOCK.sub(lambda m: f"{int(m.group(1))} heure{'s' if int(m.group(1)) > 1 else ''}"
                     + (f" {m.group(2)}" if m.group(2) else ""), text)


def caller_number(raw: str | None) -> str | None:
    """The caller ID in E.164 when it can be called back; None when withheld or unusable."""
    value = (raw or "").strip()
    if value.lower() in WITHHELD or value.lstrip("+") in PLACEHOLDERS:
        return None
    try:
        return normalise_phone(value)
    except IntakeError:
        return None


def menu_topics(topics: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """At most 9, in admin order, « autre » last."""
    other = [t for t in topics if t[0] == "autre"]
    rest = [t for t in topics if t[0] != "autre"]
    return rest[:MAX_TOPICS - len(other[:1])] + other[:1]


# --- the prompts -----------------------------------------------------------------------------------

def welcome(ctx: Context) -> tuple[Say, ...]:
    says = [Say(_("Bonjour, vous êtes à la cellule de crise de la chambre de métiers et de l'artisanat."),
                "welcome")]
    if ctx.banner:
        says.append(Say(ctx.banner))
    if ctx.open_now:
        says.append(Say(_("Nos conseillers rappellent en ce moment."), "open"))
    else:
        says.append(Say(_("Nos conseillers recommencent à rappeler %(when)s. Laissez votre demande, nous vous "
                          "rappellerons.", when=ctx.opens) if ctx.opens
                        else _("Laissez votre demande, nous vous rappellerons.")))
    if ctx.urgent_only:
        says.append(Say(_("En ce moment, nous ne rappelons que les demandes urgentes."), "urgent_only"))
    return tuple(says)


def prompt(step: Step, state: CallState, ctx: Context) -> tuple[Say, ...]:
    if step == Step.NUMBER:
        return (Say(_("Pour être rappelé au %(number)s, tapez 1. ", number=spoken_number(ctx.caller))),
                Say(_("Pour donner un autre numéro, tapez 2."), "number_other"))
    if step == Step.KEY_NUMBER:
        return (Say(_("Tapez le numéro auquel vous rappeler, à dix chiffres, puis la touche dièse."), "key_number"),)
    if step == Step.CONFIRM:
        return (Say(_("Vous avez tapé le %(number)s. ", number=spoken_number(state.pending))),
                Say(_("Pour confirmer, tapez 1. Pour le taper à nouveau, tapez 2."), "confirm"))
    if step == Step.TOPIC:
        state.offered = [list(topic) for topic in menu_topics(ctx.topics)]
        choices = " ".join(_("Pour %(topic)s, tapez %(key)s.", topic=label if code != "autre"
                             else _("une autre question"), key=n)
                           for n, (code, label) in enumerate(state.offered, start=1))
        return (Say(_("Quel est le sujet de votre demande ?"), "topic"), Say(choices))
    if step == Step.URGENCY:
        return (Say(_("Si votre activité est menacée dans les prochains jours, tapez 1. Sinon, tapez 2."),
                    "urgency"),)
    if step == Step.CONNECT:
        return (Say(_("Un conseiller est disponible en ce moment. Pour qu'il vous appelle tout de suite, tapez 1. "
                      "Pour être rappelé plus tard, tapez 2."), "connect"),)
    return (Say(_("Pour être rappelé par les conseillers de votre région, tapez votre code postal à cinq chiffres, "
                  "puis dièse. Sinon, tapez seulement dièse."), "postal"),)


def gather_for(step: Step) -> Gather:
    if step == Step.KEY_NUMBER:
        return Gather(step, num_digits=None, finish_on_key="#", timeout=NUMBER_TIMEOUT)
    if step == Step.POSTAL:
        return Gather(step, num_digits=None, finish_on_key="#", timeout=NUMBER_TIMEOUT)
    return Gather(step)


def ask(step: Step, state: CallState, ctx: Context, before: Sequence[Say] = ()) -> Reply:
    state.step = step
    return Reply((*before, *prompt(step, state, ctx)), gather_for(step))


def goodbye(ctx: Context, outcome: str, before: Sequence[Say] = ()) -> Reply:
    return Reply((*before, Say(_("Vous pouvez aussi demander un rappel sur notre site, %(website)s. Au revoir.",
                                 website=ctx.website), "goodbye")), outcome=outcome)


def first_step(state: CallState, ctx: Context) -> Reply:
    """After the welcome: the number shown, or keying one in when it is withheld."""
    says = welcome(ctx)
    if ctx.caller is None:
        return ask(Step.KEY_NUMBER, state, ctx, (*says, Say(_("Votre numéro ne s'affiche pas."), "withheld")))
    return ask(Step.NUMBER, state, ctx, says)


# --- reading what was keyed ----------------------------------------------------------------------

@dataclass(frozen=True)
class Chosen:
    """A step answered: ``value`` is what it means (a number, a topic code, True/False, a postal code)."""

    value: object


@dataclass(frozen=True)
class Wrong:
    """Not an answer to the step: ``message`` is said before asking again."""

    message: str
    key: str | None = None


REPEAT = object()  # « * »: say the step again
SILENCE = object()  # nothing keyed before the timeout


def read(step: Step, digits: str | None, ctx: Context, offered: Sequence | None = None):
    """What the caller's keys mean at ``step``: Chosen, Wrong, REPEAT or SILENCE. ``offered``: the
    topics as they were read out (an admin may change them while the caller listens)."""
    if digits is None:
        return SILENCE
    digits = digits.strip()
    if not digits.isascii():
        return Wrong(_("Ce choix n'existe pas."), "wrong_key")
    if step in (Step.KEY_NUMBER, Step.POSTAL):
        digits = digits.rstrip("#")  # the finish key (Twilio leaves it out; a simulator may not)
    if REPEAT_KEY in digits:
        return REPEAT
    wrong_key = Wrong(_("Ce choix n'existe pas."), "wrong_key")
    if step in (Step.NUMBER, Step.CONFIRM, Step.URGENCY, Step.CONNECT):
        return {"1": Chosen(True), "2": Chosen(False)}.get(digits, wrong_key)
    if step == Step.TOPIC:
        topics = offered or menu_topics(ctx.topics)
        if digits.isdigit() and 1 <= int(digits) <= len(topics):
            return Chosen(topics[int(digits) - 1][0])
        return wrong_key
    if step == Step.KEY_NUMBER:
        if not digits:
            return SILENCE
        try:
            return Chosen(normalise_phone(digits))
        except IntakeError:
            return Wrong(_("Ce numéro n'est pas valide."), "invalid_number")
    if not digits:  # Step.POSTAL: « # » alone, no postal code
        return Chosen(None)
    try:
        resolve_postal_code(digits)
    except IntakeError as error:
        if getattr(error, "communes", None):  # a code spanning two départements: routed by its first
            return Chosen(digits)
        return Wrong(_("Ce code postal n'existe pas."), "invalid_postal_code")
    return Chosen(digits)


def answer(state: CallState, digits: str | None, ctx: Context) -> Reply | Chosen:
    """The reply to keys at the current step: the step again (repeat, wrong key, silence), goodbye
    after too many misses, or ``Chosen`` for the caller of this function to act on."""
    step = state.step
    result = read(step, digits, ctx, state.offered)
    if result is REPEAT:
        return ask(step, state, ctx)
    if isinstance(result, Chosen):
        state.misses = 0
        return result
    state.misses += 1
    if state.misses >= MAX_MISSES:
        return goodbye(ctx, "no_input", (Say(_("Nous n'avons pas compris votre choix."), "not_understood"),)
                       if result is not SILENCE else ())
    before = (Say(result.message, result.key),) if isinstance(result, Wrong) else ()
    return ask(step, state, ctx, before)


# --- the ends of a call ----------------------------------------------------------------------------

def created(reference: str, window: str | None, deadline: str, mobile: bool, ctx: Context) -> Reply:
    says = [Say(_("Votre demande est enregistrée."), "created"),
            Say(_("Votre référence est : %(reference)s. Je répète : %(reference)s.",
                  reference=spoken_reference(reference)))]
    says.append(Say(_("Un conseiller vous rappellera %(window)s.", window=window) if window
                    else _("Un conseiller vous rappellera au plus tard %(deadline)s.", deadline=deadline)))
    if mobile:
        says.append(Say(_("Vous recevrez un SMS de confirmation."), "sms"))
    return Reply((*says, Say(_("Gardez votre téléphone près de vous. Au revoir."), "bye_kept")), outcome="created")


def connecting(reference: str, ctx: Context) -> Reply:
    """The caller chose to be called at once: hang up, the agent's call comes in a moment."""
    return Reply((Say(_("Votre demande est enregistrée."), "created"),
                  Say(_("Votre référence est : %(reference)s.", reference=spoken_reference(reference))),
                  Say(_("Raccrochez maintenant : un conseiller vous appelle dans un instant."), "connecting")),
                 outcome="connected")


def existing(reference: str | None, window: str | None, deadline: str, ctx: Context) -> Reply:
    """A caller with an active request: its reference and window when the caller ID proves the
    number; for a keyed-in number, nothing about it (anyone can key a number)."""
    if reference is None:
        return Reply((Say(_("Une demande de rappel est déjà en cours pour ce numéro : nous rappellerons ce numéro."),
                          "existing_keyed"), Say(_("Au revoir."), "bye")), outcome="existing")
    when = (_("Un conseiller vous rappellera %(window)s.", window=window) if window
            else _("Le rappel aura lieu au plus tard %(deadline)s.", deadline=deadline))
    return Reply((Say(_("Vous avez déjà une demande de rappel en cours."), "existing"),
                  Say(_("Sa référence est : %(reference)s. %(when)s", reference=spoken_reference(reference),
                        when=when)),
                  Say(_("Au revoir."), "bye")), outcome="existing")


def refused_not_urgent(ctx: Context) -> Reply:
    """Urgent-only: the website takes only urgent requests too, so it is not suggested."""
    return Reply((Say(_("En ce moment, nous ne pouvons enregistrer que les demandes urgentes."),
                      "refused_not_urgent"), Say(_("Au revoir."), "bye")), outcome="refused")


def paused(message: str, ctx: Context) -> Reply:
    return Reply((Say(message or _("Les demandes de rappel sont suspendues pour le moment."),
                      None if message else "paused"), Say(_("Au revoir."), "bye")), outcome="paused")


def failed(ctx: Context) -> Reply:
    """The request could not be made (a setting or a topic changed meanwhile): say so plainly."""
    return goodbye(ctx, "failed", (Say(_("Nous n'avons pas pu enregistrer votre demande. Veuillez nous excuser."),
                                       "failed"),))


def in_progress(ctx: Context) -> Reply:
    """The same step posted again while the first post is still making the request."""
    return Reply((Say(_("Votre demande est en cours d'enregistrement. Au revoir."), "in_progress"),))
