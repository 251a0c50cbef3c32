"""WTForms pieces shared by every form: text typed by people goes through ``domain.text``."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation

from .domain.text import CONTROL_MESSAGE, has_control, strip_invisible


class PlainText:
    """Refuse control characters (a NUL byte, an escape…), with a message next to the field.
    ``multiline`` lets line breaks and tabs through (descriptions, notes)."""

    def __init__(self, multiline: bool = False):
        self.multiline = multiline
        self.field_flags = {}

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and has_control(field.data, multiline=self.multiline):
            field.errors[:] = []
            raise StopValidation(_(CONTROL_MESSAGE))


def without_invisible(value):
    """Filter: zero-width characters and bidi overrides removed (a name shows as typed)."""
    return strip_invisible(value) if isinstance(value, str) else value


class CleanForm(FlaskForm):
    """A form whose text fields all refuse control characters (line breaks allowed in text
    areas); passwords are left as typed."""

    def validate(self, extra_validators=None) -> bool:
        extra = {name: list(validators) for name, validators in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if isinstance(field, StringField) and not isinstance(field, PasswordField):
                extra.setdefault(name, []).append(PlainText(multiline=isinstance(field, TextAreaField)))
        return super().validate(extra)
