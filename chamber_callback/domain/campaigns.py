"""Campaigns: the chamber calls artisans itself. Defined once, here: what a campaign is made of,
when one of its calls may be offered, what an answer may be, and what a contact's result is.

A campaign's contacts are called by the same engine as callback requests (offers, claims,
attempts, outcomes, retries: ``domain.attempts``); these rules only add:

- **callbacks first** (the default): a campaign call is offered only to an agent whose unit has
  no callback request waiting; with « shared », alongside them;
- either way, at most ``agent_share`` % of a unit's agents on duty are on campaign calls at once
  (at least one agent when the share is above zero);
- only within the campaign's period and daily call window (local time), while it is active;
- the retries use the campaign's own maximum attempts and gap.

Pure: no Flask, no database. Messages are marked with ``N_`` and translated by the web layer.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from .attempts import Outcome
from .intake import N_
from .lifecycle import Status
from .text import has_control, strip_invisible

MAX_QUESTIONS = 5
MAX_CHOICES = 8
NAME_MAX, PURPOSE_MAX, SCRIPT_MAX, LABEL_MAX, CHOICE_MAX, TEXT_ANSWER_MAX = 120, 1000, 4000, 200, 60, 200
MAX_PERIOD = timedelta(days=92)
MAX_CAMPAIGN_ATTEMPTS = 10
RETRY_GAP_RANGE = (15, 7 * 24 * 60)  # minutes
CHANNEL = "campaign"  # the channel of a campaign's contacts


class QuestionKind(StrEnum):
    YES_NO = "yes_no"
    CHOICE = "choice"
    NUMBER = "number"
    TEXT = "text"


QUESTION_KIND_LABELS: dict[str, str] = {
    QuestionKind.YES_NO: N_("Oui / non"),
    QuestionKind.CHOICE: N_("Choix dans une liste"),
    QuestionKind.NUMBER: N_("Nombre"),
    QuestionKind.TEXT: N_("Texte court"),
}
YES, NO = "oui", "non"


class Priority(StrEnum):
    CALLBACKS_FIRST = "callbacks_first"
    SHARED = "shared"


PRIORITY_LABELS: dict[str, str] = {
    Priority.CALLBACKS_FIRST: N_("Les demandes de rappel d'abord (appels de campagne quand aucune n'attend)"),
    Priority.SHARED: N_("En même temps que les demandes de rappel (dans la part de temps fixée)"),
}


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


CAMPAIGN_STATUS_LABELS: dict[str, str] = {
    CampaignStatus.ACTIVE: N_("En cours"),
    CampaignStatus.PAUSED: N_("En pause"),
    CampaignStatus.CLOSED: N_("Terminée"),
}


class Result(StrEnum):
    """Where a contact stands, as the campaign's progress counts it."""

    TO_CALL = "to_call"  # not called yet
    TO_RETRY = "to_retry"  # called, not reached yet, tried again later
    REACHED = "reached"
    REFUSED = "refused"  # reached, did not want to answer, or asked not to be called
    UNREACHABLE = "unreachable"  # the attempts ran out, or the number is wrong
    WITHDRAWN = "withdrawn"  # taken out of the campaign (the campaign closed, an erasure)


RESULT_LABELS: dict[str, str] = {
    Result.TO_CALL: N_("À appeler"),
    Result.TO_RETRY: N_("À rappeler"),
    Result.REACHED: N_("Joints"),
    Result.REFUSED: N_("Refus"),
    Result.UNREACHABLE: N_("Injoignables"),
    Result.WITHDRAWN: N_("Retirés"),
}


class CampaignError(ValueError):
    """``errors`` maps a field to a message (French, for gettext)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- what a campaign is made of -----------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    key: str  # q1…q5: stable, the answers refer to it
    label: str
    kind: QuestionKind
    choices: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "kind": self.kind.value, "choices": list(self.choices)}

    @classmethod
    def from_dict(cls, data: Mapping) -> Question:
        return cls(str(data["key"]), str(data["label"]), QuestionKind(data["kind"]), tuple(data.get("choices") or ()))


def questions_of(stored: Iterable[Mapping] | None) -> list[Question]:
    return [Question.from_dict(q) for q in stored or ()]


@dataclass(frozen=True)
class Definition:
    """A campaign as a manager describes it, checked (``check_definition``)."""

    name: str
    purpose: str
    unit_ids: tuple[int, ...]
    topic_id: int
    script: str
    questions: tuple[Question, ...]
    starts_on: date
    ends_on: date
    call_from: time
    call_until: time
    max_attempts: int
    retry_gap_minutes: int
    priority: Priority
    agent_share: int


def _text(raw, maximum: int, *, multiline: bool = False) -> str:
    value = strip_invisible(raw if isinstance(raw, str) else "").strip()
    if not multiline:
        value = " ".join(value.split())
    return value[: maximum + 1]


def _clock(raw) -> time | None:
    if isinstance(raw, time):
        return raw
    match = re.fullmatch(r"\s*(\d{1,2})\s*[:hH]\s*(\d{2})?\s*", str(raw or ""))
    if not match or int(match[1]) > 23 or int(match[2] or 0) > 59:
        return None
    return time(int(match[1]), int(match[2] or 0))


def _integer(raw) -> int | None:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def _date(raw) -> date | None:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw or "").strip())
    except ValueError:
        return None


def check_definition(raw: Mapping, *, today: date, valid_unit_ids: Iterable[int], valid_topic_ids: Iterable[int]
                     ) -> Definition:
    """A ``Definition`` from submitted values, or ``CampaignError`` with every problem at once.

    ``raw``: name, purpose, unit_ids, topic_id, script, questions (a list of {label, kind,
    choices} where choices may be a list or one choice per line), starts_on, ends_on (ISO dates),
    call_from, call_until ("09:00"), max_attempts, retry_gap_minutes, priority, agent_share.
    """
    errors: dict[str, str] = {}
    name = _text(raw.get("name"), NAME_MAX)
    if not name:
        errors["name"] = N_("Donnez un nom à la campagne.")
    elif len(name) > NAME_MAX:
        errors["name"] = N_("Le nom fait 120 caractères au plus.")
    purpose = _text(raw.get("purpose"), PURPOSE_MAX, multiline=True)
    script = _text(raw.get("script"), SCRIPT_MAX, multiline=True)
    for key, value, maximum in (("purpose", purpose, PURPOSE_MAX), ("script", script, SCRIPT_MAX)):
        if len(value) > maximum:
            errors[key] = N_("Ce texte est trop long.")
        elif has_control(value, multiline=True):
            errors[key] = N_("Ce texte contient des caractères de contrôle.")
    if not purpose:
        errors["purpose"] = N_("Dites en une phrase pourquoi la chambre appelle.")
    units = set(valid_unit_ids)
    unit_ids = tuple(sorted({u for u in (_integer(x) for x in raw.get("unit_ids") or ()) if u is not None}))
    if not unit_ids:
        errors["unit_ids"] = N_("Choisissez au moins une unité.")
    elif not set(unit_ids) <= units:
        errors["unit_ids"] = N_("Une des unités choisies n'existe pas.")
    topic_id = _integer(raw.get("topic_id"))
    if topic_id not in set(valid_topic_ids):
        errors["topic_id"] = N_("Choisissez le sujet de la campagne.")
    questions = _check_questions(raw.get("questions") or (), errors)
    starts_on, ends_on = _date(raw.get("starts_on")), _date(raw.get("ends_on"))
    if starts_on is None:
        errors["starts_on"] = N_("Indiquez le premier jour (AAAA-MM-JJ).")
    if ends_on is None:
        errors["ends_on"] = N_("Indiquez le dernier jour (AAAA-MM-JJ).")
    if starts_on and ends_on:
        if ends_on < starts_on:
            errors["ends_on"] = N_("Le dernier jour vient après le premier.")
        elif ends_on < today:
            errors["ends_on"] = N_("Le dernier jour est déjà passé.")
        elif ends_on - starts_on > MAX_PERIOD:
            errors["ends_on"] = N_("Une campagne dure trois mois au plus.")
    call_from, call_until = _clock(raw.get("call_from")), _clock(raw.get("call_until"))
    if call_from is None:
        errors["call_from"] = N_("Indiquez une heure (09:00).")
    if call_until is None:
        errors["call_until"] = N_("Indiquez une heure (18:00).")
    elif call_from is not None and call_until <= call_from:
        errors["call_until"] = N_("La fin de la plage d'appel vient après son début.")
    max_attempts = _integer(raw.get("max_attempts"))
    if max_attempts is None or not 1 <= max_attempts <= MAX_CAMPAIGN_ATTEMPTS:
        errors["max_attempts"] = N_("Entre 1 et 10 tentatives.")
    gap = _integer(raw.get("retry_gap_minutes"))
    if gap is None or not RETRY_GAP_RANGE[0] <= gap <= RETRY_GAP_RANGE[1]:
        errors["retry_gap_minutes"] = N_("Entre 15 minutes et 7 jours (10 080 minutes).")
    try:
        priority = Priority(raw.get("priority") or Priority.CALLBACKS_FIRST)
    except ValueError:
        errors["priority"] = N_("Choisissez la priorité de la campagne.")
        priority = Priority.CALLBACKS_FIRST
    share = _integer(raw.get("agent_share"))
    if share is None or not 1 <= share <= 100:
        errors["agent_share"] = N_("Une part entre 1 et 100.")
    if errors:
        raise CampaignError(errors)
    return Definition(name, purpose, unit_ids, topic_id, script, tuple(questions), starts_on, ends_on, call_from,
                      call_until, max_attempts, gap, priority, share)


def _check_questions(raw_questions, errors: dict[str, str]) -> list[Question]:
    questions: list[Question] = []
    filled = [q for q in raw_questions if _text((q or {}).get("label"), LABEL_MAX)]
    if len(filled) > MAX_QUESTIONS:
        errors["questions"] = N_("Cinq questions au plus.")
        return []
    for number, raw in enumerate(filled, start=1):
        label = _text(raw.get("label"), LABEL_MAX)
        where = f"questions.{number}"
        try:
            kind = QuestionKind(raw.get("kind") or QuestionKind.YES_NO)
        except ValueError:
            errors[where] = N_("Choisissez le type de réponse.")
            continue
        if len(label) > LABEL_MAX:
            errors[where] = N_("Une question fait 200 caractères au plus.")
            continue
        choices_raw = raw.get("choices") or ()
        if isinstance(choices_raw, str):
            choices_raw = choices_raw.splitlines()
        choices = tuple(dict.fromkeys(c for c in (_text(c, CHOICE_MAX) for c in choices_raw) if c))
        if kind == QuestionKind.CHOICE:
            if not 2 <= len(choices) <= MAX_CHOICES:
                errors[where] = N_("Une question à choix propose de 2 à 8 réponses, une par ligne.")
                continue
            if any(len(c) > CHOICE_MAX for c in choices):
                errors[where] = N_("Une réponse proposée fait 60 caractères au plus.")
                continue
        else:
            choices = ()
        questions.append(Question(f"q{number}", label, kind, choices))
    return questions


# --- answers ------------------------------------------------------------------------------------

def check_answer(question: Question, raw) -> str | None:
    """The stored form of an answer ("oui"/"non", the choice, the number, the text), None when the
    question was left unanswered, or ``CampaignError`` keyed by the question's key."""
    value = _text(raw, TEXT_ANSWER_MAX)
    if not value:
        return None
    if question.kind == QuestionKind.YES_NO:
        lowered = value.lower()
        if lowered in {YES, "yes", "o", "1", "true"}:
            return YES
        if lowered in {NO, "no", "n", "0", "false"}:
            return NO
        raise CampaignError({question.key: N_("Répondez oui ou non.")})
    if question.kind == QuestionKind.CHOICE:
        if value not in question.choices:
            raise CampaignError({question.key: N_("Choisissez une des réponses proposées.")})
        return value
    if question.kind == QuestionKind.NUMBER:
        number = value.replace(" ", "").replace("\u202f", "").replace(",", ".")
        try:
            parsed = float(number)
        except ValueError:
            raise CampaignError({question.key: N_("Indiquez un nombre.")}) from None
        if not math.isfinite(parsed) or abs(parsed) >= 1e9:
            raise CampaignError({question.key: N_("Indiquez un nombre.")})
        return str(int(parsed)) if parsed == int(parsed) else f"{parsed:g}"
    if len(value) > TEXT_ANSWER_MAX or has_control(value):
        raise CampaignError({question.key: N_("Une réponse courte : 200 caractères au plus.")})
    return value


def check_answers(questions: Iterable[Question], raw: Mapping) -> dict[str, str]:
    """Every answer checked at once: {question key: stored value} for those answered."""
    answers, errors = {}, {}
    for question in questions:
        try:
            value = check_answer(question, raw.get(question.key))
        except CampaignError as error:
            errors.update(error.errors)
            continue
        if value is not None:
            answers[question.key] = value
    if errors:
        raise CampaignError(errors)
    return answers


@dataclass
class Tally:
    """The answers to one question, counted: values in the order people read them."""

    question: Question
    counts: dict[str, int] = field(default_factory=dict)
    answered: int = 0
    total: float | None = None  # the sum of the numbers given (number questions)

    @property
    def mean(self) -> float | None:
        return None if self.total is None or not self.answered else self.total / self.answered


def tally(question: Question, values: Mapping[str, int]) -> Tally:
    """``values``: stored answer → how many contacts gave it."""
    result = Tally(question, answered=sum(values.values()))
    if question.kind == QuestionKind.YES_NO:
        result.counts = {YES: values.get(YES, 0), NO: values.get(NO, 0)}
    elif question.kind == QuestionKind.CHOICE:
        result.counts = {choice: values.get(choice, 0) for choice in question.choices}
    elif question.kind == QuestionKind.NUMBER:
        result.total = sum(float(v) * n for v, n in values.items())
    else:
        result.counts = dict(sorted(values.items(), key=lambda item: (-item[1], item[0]))[:10])
    return result


# --- when a campaign call may be offered --------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """When a campaign calls: its period (local days, both included) and daily call window."""

    starts_on: date
    ends_on: date
    call_from: time
    call_until: time
    tz: ZoneInfo

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        return self.starts_on <= local.date() <= self.ends_on and self.call_from <= local.time() < self.call_until

    def deadline(self) -> datetime:
        """The end of the last call window, in UTC: the order of a campaign's contacts, and when
        those still waiting are taken out."""
        return datetime.combine(self.ends_on, self.call_until, self.tz).astimezone(UTC)


def agents_allowed(share_percent: int, agents_on_duty: int) -> int:
    """How many of a unit's agents on duty may be on campaign calls at once: the share, rounded
    down, but at least one when anyone is on duty."""
    if agents_on_duty <= 0 or share_percent <= 0:
        return 0
    return max(1, agents_on_duty * share_percent // 100)


def may_offer(priority: Priority | str, *, callbacks_waiting: int, agents_on_campaign_calls: int,
              agents_on_duty: int, share_percent: int) -> bool:
    """Whether an agent of a unit may be given a call of this campaign now (the window and the
    campaign's status are checked apart): callbacks first unless the campaign shares, and never
    more of the unit's agents than the share on campaign calls."""
    if Priority(priority) == Priority.CALLBACKS_FIRST and callbacks_waiting > 0:
        return False
    return agents_on_campaign_calls < agents_allowed(share_percent, agents_on_duty)


# --- a contact's result -------------------------------------------------------------------------

def result_of(status: Status | str, last_outcome: Outcome | str | None, *, attempts: int) -> Result:
    """A contact's result, from its state and its latest call's outcome."""
    status = Status(status)
    if status in (Status.QUEUED, Status.OFFERED, Status.IN_CALL, Status.RETRY_WAIT, Status.SCHEDULED):
        return Result.TO_CALL if attempts == 0 else Result.TO_RETRY
    if status == Status.UNREACHABLE:
        return Result.UNREACHABLE
    if status == Status.CANCELLED:
        return Result.WITHDRAWN
    if last_outcome is not None and Outcome(last_outcome) == Outcome.REFUSED:
        return Result.REFUSED
    return Result.REACHED
