"""Notification channels behind one interface, chosen by configuration.

- in-app: the ``Notification`` row itself (listed in the staff pages with an unread count);
- email: ``SMTP_URL`` set → SMTP, else lines appended to ``instance/mail.log`` (so a laptop
  needs no mail server);
- SMS to artisans belongs to the telephony adapter and arrives with it.
"""
from __future__ import annotations

from flask import current_app

from .email import FileMailer, Mailer, SmtpMailer


def get_mailer() -> Mailer:
    mailer = current_app.extensions.get("mailer")
    if mailer is None:
        config = current_app.config
        if config.get("SMTP_URL"):
            mailer = SmtpMailer(config["SMTP_URL"], sender=config["MAIL_FROM"])
        else:
            mailer = FileMailer(config["MAIL_LOG"], sender=config["MAIL_FROM"])
        current_app.extensions["mailer"] = mailer
    return mailer


__all__ = ["FileMailer", "Mailer", "SmtpMailer", "get_mailer"]
