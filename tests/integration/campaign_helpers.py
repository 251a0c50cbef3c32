"""Builders for campaigns and their contacts (as an import writes them), for the campaign tests."""
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from chamber_callback.domain.campaigns import CHANNEL, Definition, Priority, Question, QuestionKind
from chamber_callback.domain.lifecycle import Status
from chamber_callback.domain.reference import new_reference, new_status_token, token_digest
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, RegionalUnit, Topic
from chamber_callback.services.campaigns import save_campaign, window_of

from .helpers import T0

QUESTIONS = (
    Question("q1", "Avez-vous besoin de masques ?", QuestionKind.YES_NO),
    Question("q2", "Combien de salariés ?", QuestionKind.NUMBER),
    Question("q3", "Votre activité ?", QuestionKind.CHOICE, ("Ouverte", "Fermée", "Réduite")),
)
_counter = {"n": 0}


def make_campaign(name=None, units=("idf-nord-om",), topic="sanitaire", priority=Priority.CALLBACKS_FIRST,
                  share=100, max_attempts=3, gap=60, starts_on: date | None = None, ends_on: date | None = None,
                  call_from=time(0, 0), call_until=time(23, 59), questions=QUESTIONS, now: datetime = T0):
    _counter["n"] += 1
    unit_ids = tuple(db.session.scalars(select(RegionalUnit.id).where(RegionalUnit.code.in_(units))))
    definition = Definition(
        name=name or f"Campagne {_counter['n']}", purpose="Recenser les besoins en masques.", unit_ids=unit_ids,
        topic_id=db.session.scalar(select(Topic.id).where(Topic.code == topic)), script="Bonjour, ici la chambre…",
        questions=tuple(questions), starts_on=starts_on or (now - timedelta(days=1)).date(),
        ends_on=ends_on or (now + timedelta(days=10)).date(), call_from=call_from, call_until=call_until,
        max_attempts=max_attempts, retry_gap_minutes=gap, priority=Priority(priority), agent_share=share)
    return save_campaign(definition, user_id=None, now=now)


def make_contact(campaign, unit="idf-nord-om", phone=None, preferred_agent_id=None, now: datetime = T0,
                 siret=None) -> CallbackRequest:
    from .helpers import UNIT_POSTAL

    _counter["n"] += 1
    unit_row = db.session.scalar(select(RegionalUnit).where(RegionalUnit.code == unit))
    postal = UNIT_POSTAL[unit]
    contact = CallbackRequest(
        reference=new_reference(), token_digest=token_digest(new_status_token()), status=Status.QUEUED.value,
        name="Contact Test", business_name=f"Atelier {_counter['n']}", siret=siret, sector="batiment",
        phone=phone or f"+3319800{_counter['n']:04d}", postal_code=postal, commune_insee=None, commune_name=None,
        departement_code=unit_row.departements[0].code if postal is None else _departement(postal),
        unit_id=unit_row.id, topic_id=campaign.topic_id, description="", urgent=False, no_sms=True,
        channel=CHANNEL, campaign_id=campaign.id, submitted_at=now, queued_at=now, enqueued_at=now,
        sla_deadline=window_of(campaign).deadline(), priority=0, preferred_agent_id=preferred_agent_id)
    db.session.add(contact)
    db.session.commit()
    return contact


def _departement(postal: str) -> str:
    from chamber_callback.domain.intake import resolve_postal_code

    return resolve_postal_code(postal).departement
