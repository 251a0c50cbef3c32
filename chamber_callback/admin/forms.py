"""Administration forms (French labels; every form carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..labels import CLOCK_LABELS, MET_ON_LABELS, ROLE_LABELS, WEEKDAY_LABELS
from ..validators import CleanForm


class FrenchDecimalField(DecimalField):
    """A number typed the French way (« 0,5 ») or not; shown without a useless « .0 »."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [str(valuelist[0]).replace(",", ".").replace(" ", "")]
        super().process_formdata(valuelist)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{float(self.data):g}".replace(".", ",")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class UserForm(CleanForm):
    name = StringField(_l("Nom affiché"), validators=[DataRequired(_l("Indiquez un nom.")),
                                                       Length(max=120, message=_l("120 caractères au plus."))])
    role = RadioField(_l("Rôle"), choices=choices(ROLE_LABELS.items()),
                      validators=[DataRequired(_l("Choisissez un rôle."))])
    unit_id = SelectField(_l("Unité"), coerce=str, validators=[Optional()],
                          description=_l("Obligatoire pour un agent ou un senior."))
    phone = StringField(_l("Téléphone du poste (télétravail)"), validators=[Optional(), Length(max=30)],
                        description=_l("Le numéro sur lequel l'agent reçoit les appels, par exemple 06 12 34 56 78."))
    capacity = IntegerField(_l("Appels en même temps"), default=1, validators=[
        InputRequired(_l("Indiquez un nombre.")),
        NumberRange(min=1, max=10, message=_l("De 1 à 10 appels."))])
    skills = MultiCheckboxField(_l("Sujets traités"), coerce=str, validate_choice=True,
                                description=_l("Un agent ne reçoit que les demandes des sujets cochés."))


class NewUserForm(UserForm):
    email = EmailField(_l("Adresse e-mail (identifiant)"), validators=[
        DataRequired(_l("Indiquez l'adresse e-mail.")), Email(message=_l("Adresse e-mail invalide.")),
        Length(max=254)])
    password = PasswordField(_l("Mot de passe initial"), validators=[Optional()],
                             description=_l("10 caractères au moins. Laissez vide pour en générer un, affiché une "
                                            "seule fois."))


class PasswordResetForm(CleanForm):
    password = PasswordField(_l("Nouveau mot de passe"), validators=[Optional()],
                             description=_l("10 caractères au moins. Laissez vide pour en générer un, affiché une "
                                            "seule fois. Toutes les sessions de ce compte sont fermées."))


class UnitNameForm(CleanForm):
    name = StringField(_l("Nom de l'unité"), validators=[DataRequired(_l("Indiquez un nom.")),
                                                          Length(max=200, message=_l("200 caractères au plus."))])


class OpeningHoursForm(CleanForm):
    """One row per weekday: closed, or opening and closing times (HH:MM)."""

    def rows(self):
        for day, label in enumerate(WEEKDAY_LABELS):
            yield day, label, self[f"day{day}_closed"], self[f"day{day}_open"], self[f"day{day}_close"]

    def values(self) -> dict[int, tuple[bool, str, str]]:
        return {day: (closed.data, start.data, end.data) for day, _label, closed, start, end in self.rows()}


for _day in range(7):
    setattr(OpeningHoursForm, f"day{_day}_closed", BooleanField(_l("Fermé")))
    setattr(OpeningHoursForm, f"day{_day}_open", StringField(_l("Ouverture"), validators=[Optional()]))
    setattr(OpeningHoursForm, f"day{_day}_close", StringField(_l("Fermeture"), validators=[Optional()]))


class SeniorForm(CleanForm):
    user_id = SelectField(_l("Nommer senior"), coerce=str, validators=[DataRequired(_l("Choisissez un agent."))])
    replace = BooleanField(_l("L'actuel senior redevient agent"), default=True)


class DepartementMoveForm(CleanForm):
    code = HiddenField(validators=[DataRequired()])
    unit_id = SelectField(_l("Rattacher à l'unité"), coerce=str, validators=[DataRequired()])


class TopicCreateForm(CleanForm):
    code = StringField(_l("Code (API, définitif)"), validators=[DataRequired(_l("Indiquez un code.")), Length(max=32)],
                       description=_l("Lettres minuscules, chiffres, - ou _ : utilisé par l'API, il ne pourra plus "
                                      "changer."))
    label = StringField(_l("Libellé affiché aux artisans"), validators=[DataRequired(_l("Indiquez un libellé.")),
                                                                        Length(max=200)])
    give_to_agents = BooleanField(_l("Ajouter ce sujet aux compétences de tous les agents"), default=True)


class TopicForm(CleanForm):
    label = StringField(_l("Libellé"), validators=[DataRequired(_l("Indiquez un libellé.")), Length(max=200)])
    active = BooleanField(_l("Proposé aux artisans"))


class TopicMoveForm(CleanForm):
    direction = HiddenField(validators=[DataRequired()])


class ClosedDayForm(CleanForm):
    day = DateField(_l("Jour"), validators=[InputRequired(_l("Indiquez une date (AAAA-MM-JJ)."))])
    unit_id = SelectField(_l("Pour"), coerce=str, validators=[Optional()])
    reason = StringField(_l("Motif (visible par l'équipe)"), validators=[Optional(), Length(max=200)])


class SlaSettingsForm(CleanForm):
    SLA_HOURS = FrenchDecimalField(_l("Délai de rappel promis (heures)"), places=None,
                                   validators=[InputRequired(_l("Indiquez un nombre d'heures."))])
    SLA_CLOCK = RadioField(_l("Le délai se compte en"), choices=choices(CLOCK_LABELS.items()),
                           validators=[DataRequired()])
    SLA_MET_ON = RadioField(_l("Le délai est tenu"), choices=choices(MET_ON_LABELS.items()),
                            validators=[DataRequired()])
    ESCALATION_LEVELS = StringField(_l("Niveaux d'escalade"), validators=[DataRequired(_l("Indiquez les niveaux."))],
                                    description=_l("code@pourcentage:options ; options : raise (priorité haute), top "
                                                   "(priorité maximale), senior, manager (qui est prévenu), overflow "
                                                   "(toutes les unités peuvent la prendre)."))
    ESCALATION_REPEAT_HOURS = FrenchDecimalField(_l("Relance des managers après dépassement (heures, 0 : jamais)"),
                                           places=None, validators=[InputRequired(_l("Indiquez un nombre."))])
    OFFER_TIMEOUT_SECONDS = IntegerField(_l("Durée d'une proposition d'appel à un agent (secondes)"),
                                         validators=[InputRequired(_l("Indiquez un nombre entier."))])
    RETRY_GAP_MINUTES = FrenchDecimalField(_l("Délai avant un nouvel essai sans réponse (minutes)"), places=None,
                                     validators=[InputRequired(_l("Indiquez un nombre."))])
    MAX_ATTEMPTS = IntegerField(_l("Nombre maximal d'essais"),
                                validators=[InputRequired(_l("Indiquez un nombre entier."))])


class CrisisForm(CleanForm):
    TWO_FACTOR_FOR_EVERYONE = BooleanField(_l("Exiger la double authentification de tous les comptes, agents "
                                              "compris (seniors, managers et administrateurs l'ont toujours)"))
    INTAKE_URGENT_ONLY = BooleanField(_l("Urgences seulement : le formulaire n'accepte que les demandes urgentes"))
    PUBLIC_BANNER = TextAreaField(_l("Message affiché en tête des pages publiques"),
                                  validators=[Optional(), Length(max=500, message=_l("500 caractères au plus."))],
                                  description=_l("Laissez vide pour ne rien afficher."))
    INTAKE_PAUSED = BooleanField(_l("Suspendre les demandes de rappel (formulaire et API)"))
    INTAKE_PAUSED_MESSAGE = TextAreaField(_l("Message affiché pendant la suspension"),
                                          validators=[Optional(),
                                                      Length(max=500, message=_l("500 caractères au plus."))])
    CHAMBER_PHONE = StringField(_l("Numéro de téléphone de la chambre"),
                                validators=[DataRequired(_l("Indiquez le numéro de la chambre.")), Length(max=30)],
                                description=_l("Affiché aux artisans quand les demandes sont suspendues ou réservées "
                                               "aux urgences."))
    CHAMBER_HOURS = StringField(
        _l("Horaires d'ouverture, tels que les artisans les lisent"),
        validators=[Optional(), Length(max=120, message=_l("120 caractères au plus."))],
        description=_l("Sur le formulaire et au bas des pages publiques, par exemple « du lundi au samedi, "
                       "8 h – 21 h ». Laissez vide pour ne pas en afficher."))
    PARTNER_SITES = TextAreaField(
        _l("Sites partenaires qui affichent le bouton « Être rappelé »"),
        validators=[Optional(), Length(max=6000, message=_l("6 000 caractères au plus."))],
        description=_l("Une ligne par site : le code du partenaire (lettres minuscules, chiffres et tirets, 32 au "
                       "plus), une espace, puis l'adresse du site en https://, sans chemin, par exemple "
                       "« federation-boulangerie https://www.boulangers.example.fr ». Un partenaire qui a deux "
                       "adresses prend deux lignes. Seuls ces sites peuvent afficher le formulaire ; les demandes "
                       "faites depuis l'un d'eux sont comptées « web:code ». Laissez vide : aucun site."))
    PREFECTURE_REPORT_RECIPIENTS = TextAreaField(
        _l("Destinataires de la remontée quotidienne à la préfecture"),
        validators=[Optional(), Length(max=6000, message=_l("6 000 caractères au plus."))],
        description=_l("Adresses e-mail séparées par des virgules ou une par ligne. Chaque matin, le rapport anonyme "
                       "des besoins de la veille leur est envoyé (une fois). Laissez vide : aucun envoi."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.INTAKE_PAUSED.data and not (self.INTAKE_PAUSED_MESSAGE.data or "").strip():
            self.INTAKE_PAUSED_MESSAGE.errors = list(self.INTAKE_PAUSED_MESSAGE.errors) + [
                _l("Expliquez aux artisans pourquoi les demandes sont suspendues.")]
            return False
        return valid


class DataSubjectForm(CleanForm):
    """Whose data: a phone number or an e-mail address (sent in the body, never in a URL)."""

    phone = StringField(_l("Numéro de téléphone"), validators=[Optional(), Length(max=30)])
    email = StringField(_l("ou adresse e-mail"), validators=[Optional(), Length(max=254)])


class EraseForm(DataSubjectForm):
    confirm = BooleanField(_l("Je confirme l'effacement : les données personnelles de ces demandes seront "
                              "remplacées, sans retour possible (les chiffres des rapports restent)."),
                           validators=[DataRequired(_l("Cochez la case pour confirmer l'effacement."))])


class PrivacySettingsForm(CleanForm):
    DPO_CONTACT = StringField(_l("Contact du délégué à la protection des données"),
                              validators=[Optional(), Length(max=200, message=_l("200 caractères au plus."))],
                              description=_l("Une adresse e-mail ou postale, montrée aux artisans sur le formulaire."))
    PRIVACY_NOTICE_URL = StringField(_l("Adresse de la politique de confidentialité"),
                                     validators=[Optional(), Length(max=300)],
                                     description=_l("https://… ; un lien « En savoir plus » suit l'information."))
