"""The incoming call simulator: the phone line without Twilio, for staff in development."""
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, Offer
from tests.conftest import make_app
from tests.integration.helpers import make_staff, sign_in

STEP = "/console/simulateur-appel/etape"


def test_a_simulated_call_makes_a_request_that_an_agent_is_then_offered(app, run_jobs):
    agent = make_staff(unit="ouest")
    client = app.test_client()
    sign_in(client, make_staff(role="manager"))
    page = client.get("/console/simulateur-appel").get_data(as_text=True)
    assert "Simulateur d'appel entrant" in page and 'data-key="#"' in page
    step = client.post(STEP, json={"call": None, "caller": "06 12 34 56 08"}).get_json()
    assert "Pour être rappelé au zéro six, douze, trente-quatre, cinquante-six, zéro huit, tapez 1. " in step["says"]
    assert step["gather"]["digits"] == 1 and not step["ended"]
    for digits in ("1", "2", "2"):
        step = client.post(STEP, json={"call": step["call"], "n": step["n"], "digits": digits}).get_json()
    assert step["gather"] == {"digits": None, "finish": "#", "timeout": 10, "empty_ok": True}
    step = client.post(STEP, json={"call": step["call"], "n": step["n"], "digits": "35000"}).get_json()
    assert step["ended"] and step["outcome"] == "created" and "<Hangup />" in step["twiml"]
    request = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == step["reference"]))
    assert request.channel == "phone" and request.phone == "+33612345608" and request.unit.code == "ouest"
    run_jobs()
    offer = db.session.scalar(select(Offer).where(Offer.request_id == request.id))
    assert offer is not None and offer.agent_id == agent.id


def test_silence_and_hanging_up_in_the_simulator(app):
    client = app.test_client()
    sign_in(client, make_staff(role="agent"))
    step = client.post(STEP, json={"call": None, "caller": "anonymous"}).get_json()
    assert "Votre numéro ne s'affiche pas." in step["says"]
    again = client.post(STEP, json={"call": step["call"], "n": step["n"], "digits": None}).get_json()
    assert again["says"][-1] == step["says"][-1] and again["n"] == step["n"] + 1
    done = client.post(STEP, json={"call": step["call"], "hangup": True}).get_json()
    assert done["ended"]
    assert client.post(STEP, json={"call": "CA-real", "n": 1, "digits": "1"}).status_code == 400


def test_the_simulator_is_off_in_production_settings(_migrated):
    app = make_app(PHONE_SIMULATOR=False)
    with app.app_context():
        client = app.test_client()
        sign_in(client, make_staff(role="manager"))
        assert client.get("/console/simulateur-appel").status_code == 404
        assert client.post(STEP, json={"call": None}).status_code == 404
        from tests.conftest import empty_tables

        empty_tables()
