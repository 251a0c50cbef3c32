"""A Twilio account without network: the SDK with an injected HTTP client, and signed webhooks."""
import json

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from chamber_callback.telephony.twilio import TwilioTelephony
from tests.conftest import empty_tables, make_app

TOKEN = "twilio-auth-token"
BASE = "https://rappel.example.fr"
TWILIO = {"TELEPHONY": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": TOKEN,
          "TWILIO_CALLER_ID": "+33970000000", "PUBLIC_BASE_URL": BASE}


class FakeHttp(HttpClient):
    """Records what the SDK sends and answers with canned responses (no network)."""

    def __init__(self, responses):
        super().__init__(logger=None, is_async=False)
        self.responses, self.requests = list(responses), []

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self.requests.append({"method": method, "url": url, "data": data})
        status, body = self.responses.pop(0)
        return Response(status, json.dumps(body))


@pytest.fixture
def twilio_app(_migrated):
    """An app with TELEPHONY=twilio (the adapter's HTTP client is swapped by use_http)."""
    app = make_app(**TWILIO)
    app.extensions["redis"].flushdb()
    with app.app_context():
        yield app
        empty_tables()
    app.extensions["redis"].flushdb()


def use_http(app, responses) -> FakeHttp:
    http = FakeHttp(responses)
    app.extensions["telephony"] = TwilioTelephony.from_config(app.config, http_client=http)
    return http


def signed_post(client, path, form):
    signature = RequestValidator(TOKEN).compute_signature(BASE + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


