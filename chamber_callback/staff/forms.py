"""Staff forms (French labels)."""
from flask import abort
from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, EmailField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from ..domain.routing import AGENT_SETTABLE
from ..labels import AVAILABILITY_LABELS, OUTCOME_LABELS
from ..validators import CleanForm


class LoginForm(CleanForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(_l("Indiquez votre adresse e-mail.")),
                                                          Email(message=_l("Adresse e-mail invalide."))])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(_l("Indiquez votre mot de passe."))])


class CodeForm(CleanForm):
    code = StringField(_l("Code à 6 chiffres de votre application (ou un code de secours)"),
                       validators=[DataRequired(_l("Indiquez le code affiché par votre application.")),
                                   Length(max=20)])


class PasswordForm(CleanForm):
    current = PasswordField(_l("Mot de passe actuel"), validators=[DataRequired()])
    new = PasswordField(_l("Nouveau mot de passe (10 caractères au moins)"), validators=[
        DataRequired(), Length(min=10, message=_l("10 caractères au moins."))])


class AvailabilityForm(CleanForm):
    state = RadioField(_l("Mon état"), validate_choice=True,
                       choices=[SelectChoice(s.value, AVAILABILITY_LABELS[s.value]) for s in AGENT_SETTABLE])


class OutcomeForm(CleanForm):
    outcome = RadioField(_l("Résultat de l'appel"), validators=[DataRequired(_l("Choisissez le résultat."))],
                         choices=[SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()])
    note = TextAreaField(_l("Note (visible par l'équipe)"), validators=[Optional(), Length(max=2000)])
    follow_up_at = DateTimeLocalField(_l("Rappeler le (si « à rappeler »)"), format="%Y-%m-%dT%H:%M",
                                      validators=[Optional()])


class ActionForm(CleanForm):
    """CSRF only: accept, decline, pull, call, release."""


def check_action_form() -> None:
    """A button-only POST (no fields but the CSRF token): 400 unless its token is valid."""
    if not ActionForm().validate_on_submit():
        abort(400)
