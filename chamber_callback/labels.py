"""Every French label a screen shows for a domain value (translated through Flask-Babel).

Routes, forms and templates take their wording from here; messages sent to people are in
``domain.messages``."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .domain.actors import Actor
from .domain.attempts import Outcome
from .domain.intake import N_, SECTOR_LABELS, URGENCY_REASONS

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
    return _(SECTOR_LABELS.get(code, code))


def urgency_label(code: str | None) -> str:
    return _(URGENCY_REASONS[code]) if code in URGENCY_REASONS else ""


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


# --- staff: availability and call outcomes -----------------------------------------------------

AVAILABILITY_LABELS = {
    "available": _l("Disponible"),
    "busy": _l("En appel"),
    "wrap_up": _l("Fin d'appel"),
    "away": _l("Absent"),
    "offline": _l("Hors ligne"),
}
OUTCOME_LABELS = {
    Outcome.REACHED_RESOLVED: _l("Joint : question réglée"),
    Outcome.REACHED_FOLLOW_UP: _l("Joint : à rappeler"),
    Outcome.NO_ANSWER: _l("Pas de réponse"),
    Outcome.VOICEMAIL: _l("Messagerie"),
    Outcome.WRONG_NUMBER: _l("Mauvais numéro"),
    Outcome.REFUSED: _l("Ne souhaite plus être aidé"),
}


# --- administration -------------------------------------------------------------------------------

ROLE_LABELS = {
    "agent": _l("Agent"),
    "senior": _l("Senior (responsable d'unité)"),
    "manager": _l("Manager"),
    "admin": _l("Administrateur"),
    "dpo": _l("Délégué à la protection des données"),
}
WEEKDAY_LABELS = (_l("Lundi"), _l("Mardi"), _l("Mercredi"), _l("Jeudi"), _l("Vendredi"), _l("Samedi"),
                  _l("Dimanche"))
CLOCK_LABELS = {"calendar": _l("Heures calendaires (24 h sur 24, 7 jours sur 7)"),
                "business": _l("Heures d'ouverture (horaires des unités, hors jours fériés et jours fermés)")}
MET_ON_LABELS = {"first_attempt": _l("Au premier appel tenté (même sans réponse)"),
                 "first_reach": _l("Au premier appel où l'artisan est joint")}

# Where the extra public holidays come from, for the page.
SUBDIVISION_LABELS = {
    "57": _l("la Moselle"),
    "6AE": _l("l'Alsace"),
    "971": _l("la Guadeloupe"), "972": _l("la Martinique"), "973": _l("la Guyane"), "974": _l("La Réunion"),
    "PM": _l("Saint-Pierre-et-Miquelon"), "976": _l("Mayotte"),
}


# What each audited admin action is called in the journal.
ACTION_LABELS = {
    "admin.settings_updated": _l("Réglage modifié"), "admin.user_created": _l("Compte créé"),
    "admin.user_updated": _l("Compte modifié"), "admin.user_deactivated": _l("Compte désactivé"),
    "admin.user_activated": _l("Compte réactivé"), "admin.password_reset": _l("Mot de passe réinitialisé"),
    "admin.unit_updated": _l("Unité modifiée"), "admin.departement_moved": _l("Département changé d'unité"),
    "admin.topic_created": _l("Sujet créé"), "admin.topic_updated": _l("Sujet modifié"),
    "admin.closed_day_added": _l("Jour fermé ajouté"), "admin.closed_day_removed": _l("Jour fermé retiré"),
    "admin.two_factor_reset": _l("Double authentification réinitialisée"),
    "personal_data.read": _l("Fiche de demande ouverte"),
    "admin.personal_data_viewed": _l("Données d'un artisan consultées (RGPD)"),
    "admin.personal_data_exported": _l("Données d'un artisan exportées (RGPD)"),
    "admin.personal_data_erased": _l("Données d'un artisan effacées (RGPD)"),
    "export.requests": _l("Export CSV des demandes"), "export.report_unites": _l("Export CSV du rapport par unité"),
    "export.report_conseillers": _l("Export CSV du rapport par conseiller"),
    "export.prefecture": _l("Export CSV de la remontée des besoins (anonyme)"),
}


# French names of the audited fields (the raw key is shown for any other).
FIELD_LABELS = {
    "name": _l("nom"), "role": _l("rôle"), "unit": _l("unité"), "phone": _l("téléphone"), "capacity": _l("capacité"),
    "skills": _l("sujets"), "active": _l("actif"), "password": _l("mot de passe"), "account": _l("compte"),
    "email": _l("e-mail"), "opening_hours": _l("horaires"), "label": _l("libellé"), "order": _l("ordre"),
    "topic": _l("sujet"), "code": _l("code"), "agents": _l("agents"), "closed_day": _l("jour fermé"),
    "day": _l("jour"), "reason": _l("motif"),
    "SLA_HOURS": _l("délai de rappel (h)"), "SLA_CLOCK": _l("décompte du délai"), "SLA_MET_ON": _l("délai tenu"),
    "ESCALATION_LEVELS": _l("niveaux d'escalade"), "ESCALATION_REPEAT_HOURS": _l("relance après dépassement (h)"),
    "OFFER_TIMEOUT_SECONDS": _l("durée d'une proposition (s)"), "RETRY_GAP_MINUTES": _l("délai entre essais (min)"),
    "MAX_ATTEMPTS": _l("essais au plus"), "INTAKE_URGENT_ONLY": _l("urgences seulement"),
    "PUBLIC_BANNER": _l("message public"), "INTAKE_PAUSED": _l("demandes suspendues"),
    "INTAKE_PAUSED_MESSAGE": _l("message de suspension"), "CHAMBER_PHONE": _l("téléphone de la chambre"),
    "CHAMBER_HOURS": _l("horaires d'ouverture affichés"),
    "PREFECTURE_REPORT_RECIPIENTS": _l("destinataires de la remontée à la préfecture"),
    "TWO_FACTOR_FOR_EVERYONE": _l("double authentification pour tous"), "two_factor": _l("double authentification"),
    **{str(day): label for day, label in enumerate(WEEKDAY_LABELS)},
}


def outcome_labels() -> dict[str, str]:
    """Outcome code → label, for templates."""
    return {outcome.value: label for outcome, label in OUTCOME_LABELS.items()}


def duplicate_message(reminded: bool) -> str:
    """What a second submission for a phone with an active request is told (form and API alike)."""
    if reminded:
        return _("Une demande de rappel est déjà en cours pour ce numéro : inutile d'en faire une autre. Nous "
                 "venons d'envoyer son lien de suivi au numéro (par SMS) ou à l'adresse e-mail enregistrés.")
    return _("Une demande de rappel est déjà en cours pour ce numéro : inutile d'en faire une autre. Son lien "
             "de suivi a été envoyé récemment au numéro ou à l'adresse e-mail enregistrés.")


def expected_callback(request) -> str | None:
    """« aujourd'hui entre 14h et 16h » for a waiting request with a window (``services.eta``);
    None while in a call, once closed, or before the first estimate."""
    from flask import current_app

    from .clock import utcnow
    from .domain.messages import window_words
    from .extensions import zone_named

    if request.status not in ("queued", "offered", "retry_wait", "scheduled") or request.eta_from is None:
        return None
    if request.eta_reason is not None:
        return None
    return window_words(request.eta_from, request.eta_to, utcnow(), zone_named(current_app.config["TIMEZONE"]))


def no_window_reason(request) -> str | None:
    """Why no window is given, in words, when the model could not say one."""
    if not request.is_active or request.eta_reason is None:
        return None
    if request.eta_reason == "no_agent":
        return _("Aucun conseiller n'est présent ou prévu dans votre région d'ici là : nous ne pouvons pas encore "
                 "vous donner une heure plus précise, mais le délai sera tenu.")
    return _("Beaucoup de demandes sont arrivées en même temps : votre demande passe en priorité à l'approche du "
             "délai, et un conseiller d'une autre région pourra vous rappeler.")


def outcome_label(code: str) -> str:
    return outcome_labels().get(code, code)


def campaign_result_label(code: str) -> str:
    from .domain.campaigns import RESULT_LABELS

    return _(RESULT_LABELS.get(code, code))


def campaign_status_label(code: str) -> str:
    from .domain.campaigns import CAMPAIGN_STATUS_LABELS

    return _(CAMPAIGN_STATUS_LABELS.get(code, code))
