"""The telephony interface and its registry (``TELEPHONY=console|twilio``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import current_app


class TelephonyError(Exception):
    """The provider refused or failed; ``code`` is its error code when it gave one."""

    def __init__(self, message: str, code: int | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message, self.code, self.http_status = message, code, http_status


@dataclass(frozen=True)
class Capabilities:
    bridge: bool  # places the call itself (agent first, then the artisan)
    sms: bool


class Telephony(Protocol):
    capabilities: Capabilities

    def start_bridge(self, attempt_id: int, agent_phone: str) -> str | None:
        """Call the agent's phone for an attempt; the artisan is dialled when the agent answers."""

    def cancel(self, call_sid: str) -> None: ...

    def call_status(self, call_sid: str) -> str | None:
        """The provider's current status of a call (None when it cannot tell)."""

    def send_sms(self, to: str, body: str) -> str | None: ...


def get_telephony() -> Telephony:
    """The adapter of this app, built once (the Twilio client is never built in a view)."""
    adapter = current_app.extensions.get("telephony")
    if adapter is None:
        adapter = build_telephony(current_app.config)
        current_app.extensions["telephony"] = adapter
    return adapter


def build_telephony(config) -> Telephony:
    if config["TELEPHONY"] == "twilio":
        from .twilio import TwilioTelephony

        return TwilioTelephony.from_config(config)
    from .console import ConsoleTelephony

    return ConsoleTelephony(config["SMS_LOG"], simulate=config["TELEPHONY_SIMULATOR"])
