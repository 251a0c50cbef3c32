"""The callback request form, shared by the public page and the JSON API."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..domain.intake import (
    DESCRIPTION_MAX,
    PREFERRED_SLOTS,
    SECTORS,
    URGENCY_REASONS,
    AmbiguousPostalCode,
    Intake,
    IntakeError,
    check_siret,
    communes_for,
    normalise_phone,
    resolve_postal_code,
    slot_window,
)
from ..validators import CleanForm, PlainText, without_invisible


def _message(error: IntakeError) -> str:
    return _(error.message, **error.params)


def normalise_newlines(value: str | None) -> str | None:
    """Browsers count a line break as one character but send CRLF."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def options(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def topic_choices() -> list[SelectChoice]:
    from ..services import reference

    return options((topic.code, topic.label) for topic in reference.active_topics())


def urgent_only_message() -> str:
    from ..services import settings

    return _("Pendant la crise, nous ne prenons que les demandes urgentes. Cochez cette case si votre "
             "situation est urgente ; sinon, merci de revenir plus tard ou d'appeler le %(phone)s.",
             phone=settings.get("CHAMBER_PHONE"))


class IntakeForm(CleanForm):
    name = StringField(_l("Vos nom et prénom"), filters=[without_invisible], validators=[
        PlainText(), DataRequired(_l("Indiquez votre nom.")), Length(max=120, message=_l("120 caractères au plus."))])
    business_name = StringField(_l("Nom de votre entreprise"), filters=[without_invisible], validators=[
        PlainText(), DataRequired(_l("Indiquez le nom de votre entreprise.")),
        Length(max=200, message=_l("200 caractères au plus."))])
    siret = StringField(_l("Numéro SIRET (facultatif)"), validators=[PlainText(), Optional()],
                        description=_l("14 chiffres, sur vos factures ou votre extrait d'immatriculation."))
    sector = RadioField(_l("Votre secteur d'activité"),
                        choices=options((code, _l(label)) for code, label in SECTORS.items()),
                        validators=[DataRequired(_l("Choisissez votre secteur d'activité."))],
                        validate_choice=False)
    phone = TelField(_l("Numéro où vous rappeler"),
                     validators=[PlainText(), DataRequired(_l("Indiquez un numéro de téléphone."))],
                     description=_l("Mobile ou fixe, par exemple 06 12 34 56 78."))
    email = EmailField(_l("Adresse e-mail (facultatif)"), validators=[
        PlainText(), Optional(), Length(max=254), Email(message=_l("Cette adresse e-mail n'est pas valide."))])
    postal_code = StringField(_l("Code postal de l'entreprise"), validators=[
        PlainText(), DataRequired(_l("Indiquez le code postal de votre entreprise."))])
    commune = SelectField(_l("Commune"), choices=[], validate_choice=False, validators=[Optional()])
    topic = SelectField(_l("Sujet de votre demande"), validate_choice=False,
                        validators=[DataRequired(_l("Choisissez un sujet."))])
    description = TextAreaField(_l("Votre question en quelques mots"), filters=[normalise_newlines, without_invisible],
                                validators=[PlainText(multiline=True),
                                            DataRequired(_l("Décrivez votre question en quelques mots.")),
                                            Length(max=DESCRIPTION_MAX,
                                                   message=_l("%(max)d caractères au plus.", max=DESCRIPTION_MAX))])
    urgent = BooleanField(_l("Ma demande est urgente"))
    no_sms = BooleanField(_l("Je préfère ne pas recevoir de SMS (e-mail seulement)"))
    urgency_reason = RadioField(_l("Pourquoi est-ce urgent ?"), validate_choice=False,
                                choices=options((code, _l(label)) for code, label in URGENCY_REASONS.items()))
    preferred_slot = RadioField(_l("Quand préférez-vous être rappelé ?"), default="", validate_choice=False,
                                choices=options([("", _l("Dès que possible"))]
                                                + [(code, _l(label))
                                                   for code, (_s, _e, label) in PREFERRED_SLOTS.items()]))
    # Asked only when the chamber's legal basis is consent (LEGAL_BASIS); otherwise the form informs.
    consent = BooleanField(_l("Accord pour être rappelé"))
    # Honeypot: hidden from people (CSS and aria-hidden), filled by naive bots.
    leave_blank = StringField(_l("Laissez ce champ vide"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.topic.choices = topic_choices()
        self.intake: Intake | None = None

    @property
    def is_bot(self) -> bool:
        return bool((self.leave_blank.data or "").strip())

    def validate_siret(self, field):
        try:
            field.data = check_siret(field.data)
        except IntakeError as error:
            raise ValidationError(_message(error)) from None

    def validate_sector(self, field):
        if field.data not in SECTORS:
            raise ValidationError(_("Choisissez votre secteur d'activité."))

    def validate_topic(self, field):
        if field.data not in {choice.value for choice in self.topic.choices}:
            raise ValidationError(_("Choisissez un sujet dans la liste."))

    def validate_consent(self, field):
        if not field.data and current_app.config["LEGAL_BASIS"] == "consent":
            raise ValidationError(_("Votre accord est nécessaire pour que nous vous rappelions."))

    def validate_urgent(self, field):
        from ..services import settings

        if not field.data and settings.get("INTAKE_URGENT_ONLY"):
            raise ValidationError(urgent_only_message())

    def validate_urgency_reason(self, field):
        if self.urgent.data and field.data not in URGENCY_REASONS:
            raise ValidationError(_("Dites-nous pourquoi votre demande est urgente."))

    def validate_preferred_slot(self, field):
        if field.data and field.data not in PREFERRED_SLOTS:
            raise ValidationError(_("Choisissez un créneau dans la liste."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        commune = self._resolve_commune()
        phone = self._resolve_phone(commune)
        self._errors = None  # WTForms caches form.errors; errors were added after validation
        return bool(valid and commune and phone)

    def _resolve_commune(self):
        if self.postal_code.errors:
            return None
        code = "".join((self.postal_code.data or "").split())
        self.commune.choices = options((c.insee, c.name) for c in communes_for(code)) if len(code) == 5 else []
        try:
            commune = resolve_postal_code(self.postal_code.data, self.commune.data or None)
        except AmbiguousPostalCode as error:
            self.commune.errors.append(_message(error))
            return None
        except IntakeError as error:
            self[error.field or "postal_code"].errors.append(_message(error))
            return None
        self.postal_code.data = "".join(self.postal_code.data.split())
        return commune

    def _resolve_phone(self, commune):
        if self.phone.errors:
            return None
        try:
            return normalise_phone(self.phone.data, commune.departement if commune else None)
        except IntakeError as error:
            self.phone.errors.append(_message(error))
            return None

    def build_intake(self, *, now: datetime, tz: ZoneInfo, channel: str,
                     window: tuple[datetime, datetime] | None = None) -> Intake:
        """The validated submission; call after validate() returned True."""
        commune = resolve_postal_code(self.postal_code.data, self.commune.data or None)
        confirmed = bool(self.commune.data) or len(communes_for(self.postal_code.data)) == 1
        if window is None and self.preferred_slot.data:
            window = slot_window(self.preferred_slot.data, now, tz)
        return Intake(
            name=self.name.data.strip(),
            business_name=self.business_name.data.strip(),
            sector=self.sector.data,
            phone=normalise_phone(self.phone.data, commune.departement),
            postal_code=self.postal_code.data,
            commune=commune,
            topic=self.topic.data,
            description=self.description.data.strip(),
            urgent=bool(self.urgent.data),
            urgency_reason=self.urgency_reason.data if self.urgent.data else None,
            consent=bool(self.consent.data),
            siret=self.siret.data or None,
            email=(self.email.data or "").strip().lower() or None,
            preferred_start=window[0] if window else None,
            preferred_end=window[1] if window else None,
            channel=channel,
            commune_confirmed=confirmed,
            no_sms=bool(self.no_sms.data),
        )


class CancelForm(CleanForm):
    """Only the CSRF token: cancelling is a POST from the status page."""
