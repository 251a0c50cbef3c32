"""What a staff password must be: the one rule, wherever a password is set (the account page,
an admin's reset, a new account, the ``create-user`` command).

Ten characters at least, and not easy to guess, as judged by zxcvbn (common passwords, names,
keyboard runs, repetitions, dates, the account's own e-mail and name): a score of 3 out of 4.
"""
from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

from .intake import N_

MIN_LENGTH = 10
MIN_SCORE = 3  # zxcvbn: 0 too guessable … 4 very unguessable
MAX_CHECKED = 100  # zxcvbn's cost grows with the length; what follows cannot make it weaker


class PasswordError(ValueError):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message, self.params = message, params


def check_password(password: str | None, user_inputs: Iterable[str] = ()) -> None:
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise PasswordError(N_("Le mot de passe doit compter au moins %(n)d caractères."), n=MIN_LENGTH)
    inputs = [part for value in user_inputs if value for part in [value, *value.replace("@", " ").split()]]
    if zxcvbn(password[:MAX_CHECKED], user_inputs=inputs)["score"] < MIN_SCORE:
        raise PasswordError(N_("Ce mot de passe est trop facile à deviner (mot courant, suite, répétition, nom ou "
                               "date). Choisissez plutôt quelques mots sans rapport entre eux, par exemple "
                               "« lampe-riviere-orage-27 »."))
