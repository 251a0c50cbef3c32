"""E-mail adapters: SMTP for production, a file for laptops and demos."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from ..clock import utcnow


class MailError(Exception):
    """The message could not be handed over; the caller records it and retries later."""


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    return message


class FileMailer:
    """Appends each message to a file (default ``instance/mail.log``)."""

    def __init__(self, path: str | Path, sender: str):
        self.path, self.sender = Path(path), sender

    def send(self, to: str, subject: str, body: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().isoformat(timespec="seconds")
        with self.path.open("a", encoding="utf-8") as handle:  # readable as is, not MIME-encoded
            handle.write(f"--- {stamp}\nFrom: {self.sender}\nTo: {to}\nSubject: {subject}\n\n{body}\n\n")


class SmtpMailer:
    """``smtp://user:password@host:587`` (STARTTLS) or ``smtps://…:465`` (TLS)."""

    def __init__(self, url: str, sender: str, timeout: float = 10.0):
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587 or smtps://…:465")
        self.secure = parsed.scheme == "smtps"
        self.host, self.port = parsed.hostname, parsed.port or (465 if self.secure else 587)
        self.user = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.sender, self.timeout = sender, timeout

    def send(self, to: str, subject: str, body: str) -> None:
        context = ssl.create_default_context()
        try:
            if self.secure:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if not self.secure:
                    client.starttls(context=context)
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(_message(self.sender, to, subject, body))
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"{type(exc).__name__}: {exc}") from exc
