"""Twilio: the agent-first bridge and SMS, through the official SDK.

The ``Client`` is built once, here. Calls go to the agent's own phone with the chamber's caller
ID; when the agent answers, ``webhooks/`` serves the TwiML that dials the artisan. Every number
comes from the database, never from the browser.
"""
from __future__ import annotations

from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from ..config import ConfigError
from .base import Capabilities, TelephonyError

REQUIRED = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_CALLER_ID", "PUBLIC_BASE_URL")
AGENT_RING_SECONDS = 20


def webhook_url(base_url: str, path: str, **params) -> str:
    """An absolute URL of one of our Twilio webhooks (the exact string Twilio will sign)."""
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{base_url.rstrip('/')}/webhooks/twilio/{path}" + (f"?{query}" if query else "")


class TwilioTelephony:
    capabilities = Capabilities(bridge=True, sms=True)

    def __init__(self, account_sid: str, auth_token: str, caller_id: str, base_url: str, http_client=None,
                 sms_sender: str | None = None):
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.caller_id, self.base_url = caller_id, base_url.rstrip("/")
        self.sms_sender = sms_sender or caller_id

    @classmethod
    def from_config(cls, config, http_client=None) -> TwilioTelephony:
        missing = [name for name in REQUIRED if not config.get(name)]
        if missing:
            raise ConfigError(f"TELEPHONY=twilio needs {', '.join(missing)} (see docs/PRODUCTION.md, 'Twilio').")
        return cls(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config["TWILIO_CALLER_ID"],
                   config["PUBLIC_BASE_URL"], http_client=http_client, sms_sender=config.get("TWILIO_SMS_SENDER"))

    def webhook(self, path: str, **params) -> str:
        return webhook_url(self.base_url, path, **params)

    def start_bridge(self, attempt_id: int, agent_phone: str) -> str:
        try:
            call = self.client.calls.create(
                to=agent_phone, from_=self.caller_id, timeout=AGENT_RING_SECONDS,
                url=self.webhook("voice/agent", attempt=attempt_id),
                status_callback=self.webhook("status", attempt=attempt_id, leg="agent"),
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                status_callback_method="POST",
            )
        except TwilioRestException as exc:
            raise TelephonyError(exc.msg, code=exc.code, http_status=exc.status) from exc
        except (TwilioException, RequestException, OSError) as exc:  # service errors, network trouble
            raise TelephonyError(type(exc).__name__) from exc
        return call.sid

    def cancel(self, call_sid: str) -> None:
        try:
            self.client.calls(call_sid).update(status="completed")
        except (TwilioException, RequestException, OSError) as exc:
            raise TelephonyError(type(exc).__name__) from exc

    def call_status(self, call_sid: str) -> str | None:
        try:
            return self.client.calls(call_sid).fetch().status
        except (TwilioException, RequestException, OSError):
            return None

    def send_sms(self, to: str, body: str) -> str:
        try:
            message = self.client.messages.create(to=to, from_=self.sms_sender, body=body,
                                                  status_callback=self.webhook("sms-status"))
        except TwilioRestException as exc:
            raise TelephonyError(exc.msg, code=exc.code, http_status=exc.status) from exc
        except (TwilioException, RequestException, OSError) as exc:
            raise TelephonyError(type(exc).__name__) from exc
        return message.sid
