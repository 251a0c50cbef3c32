"""French wording of domain values for screens (translated through Flask-Babel)."""
from flask_babel import gettext as _

from .domain.actors import Actor
from .domain.intake import N_, PREFERRED_SLOTS, SECTORS, URGENCY_REASONS

STATUS_LABELS = {
    "queued": N_("En attente d'un conseiller"),
    "offered": N_("Un conseiller va vous appeler"),
    "in_call": N_("Appel en cours"),
    "scheduled": N_("Rappel programmé"),
    "retry_wait": N_("Nous avons essayé de vous joindre : nouvel essai prévu"),
    "completed": N_("Traitée"),
    "unreachable": N_("Nous n'avons pas pu vous joindre"),
    "cancelled": N_("Annulée"),
}

# The same states, as staff name them.
STAFF_STATUS_LABELS = {
    "queued": N_("En file"), "offered": N_("Proposée"), "in_call": N_("En appel"), "scheduled": N_("Rappel programmé"),
    "retry_wait": N_("Nouvel essai prévu"), "completed": N_("Traitée"), "unreachable": N_("Injoignable"),
    "cancelled": N_("Annulée"),
}


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def sector_label(code: str) -> str:
    return _(SECTORS.get(code, code))


def urgency_label(code: str | None) -> str:
    return _(URGENCY_REASONS[code]) if code in URGENCY_REASONS else ""


def slot_label(code: str) -> str:
    return _(PREFERRED_SLOTS[code][2])


ACTOR_LABELS = {"artisan": N_("l'artisan"), "api": N_("la plateforme partenaire (API)"),
                "system": N_("automatique")}


def actor_label(actor: Actor, staff_names: dict[int, str]) -> str:
    """Who did it, as staff read it: a colleague's name, « l'artisan », « automatique »…"""
    if actor.staff_user_id is not None:
        return staff_names.get(actor.staff_user_id) or _("compte n° %(id)s", id=actor.staff_user_id)
    return _(ACTOR_LABELS.get(actor.type, actor.type))


def at_risk_share() -> str:
    """« 75 % », the share of the SLA from which a request is at risk (from the configured levels)."""
    from .domain.escalation import thresholds
    from .services.sla import levels

    share = thresholds(levels()).at_risk
    return "—" if share is None else f"{share * 100:g}\u00a0%"


def at_risk_words() -> str:
    """The at-risk tile's words, with the configured share."""
    from .domain.escalation import thresholds
    from .services.sla import levels

    if thresholds(levels()).at_risk is None:
        return _("à risque (aucun niveau d'alerte avant l'échéance)")
    return _("à risque (≥ %(share)s du délai)", share=at_risk_share())


def staff_status_label(status: str) -> str:
    return _(STAFF_STATUS_LABELS.get(status, status))
