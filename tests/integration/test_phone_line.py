"""Whole calls through the phone line: a client that follows each TwiML action URL, signs every
request like Twilio and presses keys."""
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from chamber_callback.domain.actors import Actor
from chamber_callback.domain.phone_line import spoken_reference
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, InboundCall
from chamber_callback.services import settings as runtime
from tests.integration.helpers import make_request, make_staff
from tests.integration.twilio_fakes import BASE, signed_post

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Paris: open
NIGHT = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)  # 23:30 in Paris: closed until 8:00
CALLER = "+33612345678"
ADMIN = Actor("system", "test")


class Call:
    """One call: each step's TwiML parsed as XML, keys pressed into the gather's action URL."""

    def __init__(self, app, caller=CALLER, sid="CA" + "1" * 32):
        self.client, self.sid, self.caller = app.test_client(), sid, caller
        self.xml = None
        self.last = None

    def _post(self, url: str, extra: dict | None = None) -> ET.Element:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        form = {"CallSid": self.sid, "From": self.caller or "", "To": "+33970000000", **(extra or {})}
        response = signed_post(self.client, path, form)
        assert response.status_code == 200, (path, response.status_code)
        assert response.mimetype == "text/xml"
        self.last = (path, form)
        self.xml = ET.fromstring(response.get_data(as_text=True))
        return self.xml

    def dial(self) -> "Call":
        self._post(f"{BASE}/webhooks/twilio/voice/inbound")
        return self

    @property
    def spoken(self) -> str:
        return " ".join(say.text or "" for say in self.xml.iter("Say"))

    @property
    def gather(self) -> ET.Element | None:
        return self.xml.find("Gather")

    @property
    def ended(self) -> bool:
        return self.xml.find("Hangup") is not None and self.gather is None

    def press(self, digits: str) -> "Call":
        gather = self.gather
        assert gather is not None, self.spoken
        finish = gather.get("finishOnKey")
        if finish and digits.endswith(finish):
            digits = digits[:-1]  # Twilio posts the digits without the key that ended them
        self._post(gather.get("action"), {"Digits": digits})
        return self

    def wait(self) -> "Call":
        """Say nothing: Twilio falls through the gather to the redirect (or, where an empty
        answer is accepted, posts no digits to the action)."""
        gather = self.gather
        if gather.get("actionOnEmptyResult") == "true":
            self._post(gather.get("action"), {"Digits": ""})
        else:
            self._post(self.xml.find("Redirect").text)
        return self

    def retry_last(self) -> ET.Element:
        """Twilio posting the same step again (it got no answer in time)."""
        path, form = self.last
        response = signed_post(self.client, path, form)
        return ET.fromstring(response.get_data(as_text=True))


def _requests():
    db.session.expire_all()
    return db.session.scalars(select(CallbackRequest).order_by(CallbackRequest.id)).all()


def test_the_happy_path_makes_a_phone_request_and_reads_back_its_reference(twilio_app, freeze_clock):
    freeze_clock(NOW)
    make_staff()
    call = Call(twilio_app).dial()
    assert "cellule de crise" in call.spoken and "Nos conseillers rappellent en ce moment" in call.spoken
    assert "Pour être rappelé au zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit, tapez 1" \
        in call.spoken
    call.press("1")
    assert "Quel est le sujet de votre demande ?" in call.spoken
    assert "tapez 1." in call.spoken and "Pour une autre question, tapez 7." in call.spoken
    call.press("3")  # the third active topic: pge
    assert "Si votre activité est menacée" in call.spoken
    call.press("1")
    assert "code postal" in call.spoken
    call.press("35000")
    assert call.ended
    [request] = _requests()
    assert request.channel == "phone" and request.phone == CALLER and request.urgent
    assert request.topic.code == "pge" and request.unit.code == "ouest" and request.postal_code == "35000"
    letters = ", ".join("tiret" if c == "-" else c for c in request.reference)
    assert "Votre demande est enregistrée" in call.spoken
    assert all(part in call.spoken for part in letters.split(", ") if not part.isdigit())
    assert "Un conseiller vous rappellera" in call.spoken and "Vous recevrez un SMS de confirmation" in call.spoken
    row = db.session.scalar(select(InboundCall))
    assert row.outcome == "created" and row.request_id == request.id and row.ended_at is not None


def test_a_retried_step_creates_nothing_twice(twilio_app, freeze_clock):
    freeze_clock(NOW)
    call = Call(twilio_app).dial().press("1").press("1").press("2")
    call.press("#")
    first = call.spoken
    again = call.retry_last()
    assert " ".join(s.text for s in again.iter("Say")) == first
    assert len(_requests()) == 1
    # The welcome asked twice gives the same welcome, not a second call.
    Call(twilio_app).dial()
    assert db.session.scalar(select(func.count()).select_from(InboundCall)) == 1


def test_silence_asks_once_more_then_says_goodbye_with_the_website(twilio_app, freeze_clock):
    freeze_clock(NOW)
    call = Call(twilio_app).dial().press("1")
    menu = call.spoken
    call.wait()
    assert call.spoken == menu and not call.ended  # the menu once more
    call.wait()
    assert call.ended and "rappel.example.fr" in call.spoken and "Au revoir" in call.spoken
    assert _requests() == []
    assert db.session.scalar(select(InboundCall.outcome)) == "no_input"


def test_wrong_keys_are_said_and_star_repeats(twilio_app, freeze_clock):
    freeze_clock(NOW)
    call = Call(twilio_app).dial()
    welcome_menu = call.spoken
    call.press("*")
    assert "Pour donner un autre numéro, tapez 2" in call.spoken and call.spoken in welcome_menu
    call.press("7")
    assert call.spoken.startswith("Ce choix n'existe pas.")
    call.press("9")
    assert call.ended and "Nous n'avons pas compris votre choix" in call.spoken


def test_a_withheld_number_keys_one_in_and_an_invalid_one_is_refused(twilio_app, freeze_clock):
    freeze_clock(NOW)
    for caller in ("anonymous", "+266696687", ""):
        call = Call(twilio_app, caller=caller, sid=f"CA{caller or 'none'}").dial()
        assert "Votre numéro ne s'affiche pas" in call.spoken and "dièse" in call.spoken
    call.press("0612")
    assert call.spoken.startswith("Ce numéro n'est pas valide.")
    call.press("0698765432")
    assert "Vous avez tapé le zéro six, quatre-vingt-dix-huit, soixante-seize, cinquante-quatre, trente-deux" \
        in call.spoken
    call.press("2")
    assert "Tapez le numéro" in call.spoken
    call.press("0698765432").press("1").press("7").press("2").press("#")
    [request] = _requests()
    assert request.phone == "+33698765432" and not request.urgent and request.topic.code == "autre"
    # No postal code: the configured default routes it.
    assert request.postal_code == "75001" and request.unit.code == "idf-nord-om"


def test_a_caller_with_a_request_hears_its_reference_and_a_keyed_number_hears_nothing_of_it(twilio_app,
                                                                                            freeze_clock):
    freeze_clock(NOW)
    existing = make_request(phone=CALLER, now=NOW - timedelta(hours=1))
    call = Call(twilio_app).dial().press("1")
    assert call.ended and "Vous avez déjà une demande de rappel en cours" in call.spoken
    assert spoken_reference(existing.reference) in call.spoken
    other = Call(twilio_app, caller="+33199000001", sid="CA" + "2" * 32).dial().press("2")
    other.press("0612345678").press("1")
    assert other.ended and "déjà en cours pour ce numéro" in other.spoken
    assert spoken_reference(existing.reference) not in other.spoken
    assert len(_requests()) == 1


def test_paused_intake_and_urgent_only_are_spoken(twilio_app, freeze_clock):
    freeze_clock(NOW)
    runtime.update({"INTAKE_PAUSED": True, "INTAKE_PAUSED_MESSAGE": "Nous sommes saturés."}, ADMIN, NOW)
    call = Call(twilio_app).dial()
    assert call.ended and "Nous sommes saturés." in call.spoken
    runtime.update({"INTAKE_PAUSED": False, "INTAKE_URGENT_ONLY": True}, ADMIN, NOW)
    call = Call(twilio_app, sid="CA" + "3" * 32).dial()
    assert "nous ne rappelons que les demandes urgentes" in call.spoken
    call.press("1").press("1").press("2")
    assert call.ended and "que les demandes urgentes" in call.spoken
    assert _requests() == []


def test_outside_opening_hours_the_line_takes_the_request_and_says_when(twilio_app, freeze_clock):
    freeze_clock(NIGHT)
    call = Call(twilio_app).dial()
    assert "Nos conseillers recommencent à rappeler demain matin à 8 heures" in call.spoken
    call.press("1").press("1").press("2").press("#")
    [request] = _requests()
    assert request.channel == "phone"
    assert "Un conseiller vous rappellera" in call.spoken


def test_every_phone_line_endpoint_checks_the_signature(twilio_app):
    client = twilio_app.test_client()
    for path in ("/webhooks/twilio/voice/inbound", "/webhooks/twilio/voice/inbound/step?n=1",
                 "/webhooks/twilio/voice/inbound/status"):
        assert client.post(path, data={"CallSid": "CA1"}).status_code == 403
        assert client.post(path, data={"CallSid": "CA1"}, headers={"X-Twilio-Signature": "bad"}).status_code == 403


def test_a_hang_up_in_the_menu_is_counted_at_its_step(twilio_app, freeze_clock):
    freeze_clock(NOW)
    call = Call(twilio_app).dial().press("1")
    response = signed_post(call.client, "/webhooks/twilio/voice/inbound/status",
                           {"CallSid": call.sid, "CallStatus": "completed"})
    assert response.status_code == 204
    row = db.session.scalar(select(InboundCall))
    assert row.outcome == "hung_up" and row.step == "topic"


def test_the_dashboard_counts_requests_by_channel_and_the_lines_calls(twilio_app, freeze_clock):
    freeze_clock(NOW)
    make_request(now=NOW - timedelta(minutes=30))  # from the web form
    Call(twilio_app).dial().press("1").press("1").press("2").press("#")  # a request by phone
    Call(twilio_app, caller="+33612340000", sid="CA" + "4" * 32).dial().press("1").press("2")  # hangs up
    signed_post(twilio_app.test_client(), "/webhooks/twilio/voice/inbound/status",
                {"CallSid": "CA" + "4" * 32, "CallStatus": "completed"})
    from tests.integration.helpers import sign_in

    client = twilio_app.test_client()
    sign_in(client, make_staff(role="manager"))
    panel = client.get("/pilotage/panneau").get_data(as_text=True)
    assert 'data-channel="web">1<' in panel and 'data-channel="phone">1<' in panel
    assert 'data-phone="received">2<' in panel and 'data-phone="created">1<' in panel
    channels = panel[panel.index('id="channels-title"'):]
    assert 'data-hung-up="urgency">1<' in channels, channels[:3000]


def test_the_callers_number_is_forgotten_with_the_other_personal_data(twilio_app, freeze_clock):
    from chamber_callback.services.data_rights import Subject, erase
    from chamber_callback.services.retention import purge_details

    freeze_clock(NOW)
    Call(twilio_app).dial().press("1")  # hangs up in the menu: no request, the number is kept a while
    Call(twilio_app, caller="+33612340000", sid="CA" + "5" * 32).dial().press("1")
    rows = {row.call_sid: row for row in db.session.scalars(select(InboundCall))}
    assert rows["CA" + "1" * 32].caller == CALLER and rows["CA" + "1" * 32].choices
    # The artisan asks for erasure: the calls from that number lose it (their step stays, for the figures).
    erase(Subject.parse("06 12 34 56 78", None), ADMIN, NOW, why="test")
    db.session.expire_all()
    forgotten = db.session.scalar(select(InboundCall).where(InboundCall.call_sid == "CA" + "1" * 32))
    assert forgotten.caller is None and forgotten.choices is None and forgotten.step == "topic"
    # Three months later, the retention of messages covers the other call too.
    assert purge_details(NOW + timedelta(days=91), notes_days=180, messages_days=90, audit_days=365)["calls"] == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(InboundCall).where(InboundCall.caller.is_not(None))) == 0


def test_a_free_agent_calls_the_caller_at_once_when_asked(twilio_app, freeze_clock):
    from tests.integration.twilio_fakes import use_http

    freeze_clock(NOW)
    twilio_app.config["INBOUND_CONNECT_WHEN_FREE"] = True
    agent = make_staff(unit="ouest")
    http = use_http(twilio_app, [(201, {"sid": "CA" + "9" * 32, "status": "queued"})])
    call = Call(twilio_app).dial().press("1").press("3").press("2").press("35000")
    assert "Un conseiller est disponible en ce moment" in call.spoken
    call.press("1")
    assert call.ended and "Raccrochez maintenant : un conseiller vous appelle dans un instant" in call.spoken
    [request] = _requests()
    assert request.status == "in_call" and request.assigned_agent_id == agent.id
    assert len(http.requests) == 1 and http.requests[0]["data"]["To"] == agent.phone  # the agent first
    assert db.session.scalar(select(InboundCall.outcome)) == "connected"


def test_no_direct_connection_when_someone_already_waits_or_when_the_caller_prefers_later(twilio_app, freeze_clock):
    freeze_clock(NOW)
    twilio_app.config["INBOUND_CONNECT_WHEN_FREE"] = True
    make_staff(unit="ouest")
    call = Call(twilio_app).dial().press("1").press("3").press("2").press("35000")
    call.press("2")  # later, thanks
    assert call.ended and "Un conseiller vous rappellera" in call.spoken
    assert _requests()[0].status == "queued"
    # Now one request waits in the unit: the next caller is not offered to jump ahead of it.
    other = Call(twilio_app, caller="+33612340001", sid="CA" + "6" * 32).dial().press("1").press("3").press("2")
    other.press("35000")
    assert other.ended and "Un conseiller est disponible" not in other.spoken


def test_two_direct_connections_at_once_give_the_request_to_one_agent(twilio_app):
    from chamber_callback.services import assignment
    from tests.integration.helpers import run_at_once

    # Ids read here: the threads must not load the main session's objects (one session, two threads).
    agent_ids = [make_staff(unit="ouest").id for _ in range(2)]
    request_id = make_request(unit="ouest").id
    won = []

    def claim(index):
        if assignment.claim_for(agent_ids[index], request_id, datetime.now(UTC), reason="test") is not None:
            won.append(index)

    run_at_once(twilio_app, claim, 2)
    assert len(won) == 1
    db.session.expire_all()
    assert db.session.get(CallbackRequest, request_id).assigned_agent_id == agent_ids[won[0]]


def test_callers_going_through_the_menu_at_once_all_get_their_request(twilio_app, freeze_clock):
    """Each step reads the call's row, then writes it: on SQLite the write lock is taken first, so
    callers keying at the same moment wait for each other instead of hearing the failure message."""
    from tests.integration.helpers import run_at_once

    freeze_clock(NOW)
    callers = [f"+336123456{index:02d}" for index in range(6)]

    def call(index):
        done = Call(twilio_app, caller=callers[index], sid=f"CA{index:032d}").dial()
        done.press("1").press("3").press("1").press("35000")
        assert "Votre demande est enregistrée" in done.spoken, done.spoken

    run_at_once(twilio_app, lambda index: call(index), len(callers))
    assert sorted(request.phone for request in _requests()) == callers


# --- faults: the caller always hears a reply, and nothing is made twice --------------------------

def _post_step(call, digits):
    path = call.gather.get("action").replace(BASE, "")
    return signed_post(call.client, path, {"CallSid": call.sid, "From": call.caller, "To": "+33970000000",
                                           "Digits": digits})


def test_a_refused_direct_connection_still_tells_the_caller_the_request(twilio_app, freeze_clock):
    from tests.integration.twilio_fakes import use_http

    freeze_clock(NOW)
    twilio_app.config["INBOUND_CONNECT_WHEN_FREE"] = True
    make_staff(unit="ouest")
    use_http(twilio_app, [(400, {"code": 21215, "message": "Geo permission", "status": 400})])
    call = Call(twilio_app).dial().press("1").press("3").press("2").press("35000")
    call.press("1")
    assert call.ended and "Votre demande est enregistrée" in call.spoken and "Raccrochez" not in call.spoken
    [request] = _requests()
    assert request.status == "queued" and request.assigned_agent_id is None  # back in the queue, once
    assert db.session.scalar(select(InboundCall.outcome)) == "created"


@pytest.fixture
def topics_restored(twilio_app):
    """Topics are reference data, kept between tests: put them back as they were."""
    from sqlalchemy import update

    from chamber_callback.models import Topic

    yield
    db.session.rollback()
    db.session.execute(update(Topic).values(active=True))
    db.session.commit()


def test_a_topic_deactivated_while_the_caller_keys_goes_to_another_question(twilio_app, freeze_clock,
                                                                            topics_restored):
    from sqlalchemy import update

    from chamber_callback.models import Topic

    freeze_clock(NOW)
    call = Call(twilio_app).dial().press("1").press("3").press("2")
    db.session.execute(update(Topic).where(Topic.code == "pge").values(active=False))
    db.session.commit()
    assert _post_step(call, "").status_code == 200
    [request] = _requests()
    assert request.topic.code == "autre"


def test_topics_are_read_as_they_were_offered(twilio_app, freeze_clock, topics_restored):
    from sqlalchemy import update

    from chamber_callback.models import Topic

    freeze_clock(NOW)
    call = Call(twilio_app).dial().press("1")  # the topics are read out
    db.session.execute(update(Topic).where(Topic.code == "aides").values(active=False))  # an admin acts
    db.session.commit()
    call.press("3").press("2").press("#")
    assert _requests()[0].topic.code == "pge"  # the third one heard, not the third one now


def test_a_bad_default_postal_code_is_said_plainly(twilio_app, freeze_clock):
    freeze_clock(NOW)
    twilio_app.config["PHONE_DEFAULT_POSTAL_CODE"] = "75000"
    call = Call(twilio_app).dial().press("1").press("3").press("2").press("#")
    assert call.ended and "Nous n'avons pas pu enregistrer votre demande" in call.spoken
    assert _requests() == [] and db.session.scalar(select(InboundCall.outcome)) == "failed"


def test_a_second_post_of_the_last_step_during_the_first_makes_nothing(twilio_app, freeze_clock, monkeypatch):
    """The request's transaction commits before the reply is stored (and frees the row lock on
    PostgreSQL): a concurrent post of the same step is told to wait, and makes no request."""
    from chamber_callback.models import ArtisanMessage
    from chamber_callback.services import phone_line

    freeze_clock(NOW)
    call = Call(twilio_app).dial().press("1").press("3").press("2")
    path, form = call.gather.get("action").replace(BASE, ""), {"CallSid": call.sid, "Digits": ""}
    real, seen = phone_line.submit_request, {}

    def submit(*args, **kwargs):
        result = real(*args, **kwargs)
        db.session.commit()
        if not seen:
            seen["retry"] = signed_post(twilio_app.test_client(), path, form).get_data(as_text=True)
        return result

    monkeypatch.setattr(phone_line, "submit_request", submit)
    first = signed_post(call.client, path, form).get_data(as_text=True)
    assert "Votre demande est enregistrée" in first
    assert "en cours d'enregistrement" in seen["retry"] and "déjà une demande" not in seen["retry"]
    assert len(_requests()) == 1
    assert db.session.scalar(select(func.count()).select_from(ArtisanMessage)) == 1  # one confirmation
    assert db.session.scalar(select(InboundCall.outcome)) == "created"


def test_odd_keys_and_an_older_stored_state_never_break_the_call(twilio_app, freeze_clock):
    from chamber_callback.services import phone_line

    freeze_clock(NOW)
    call = Call(twilio_app).dial().press("1")
    n, reply = phone_line.answer(call.sid, 2, "²", NOW)  # a digit that is not ASCII
    assert reply.says[0].text == "Ce choix n'existe pas."
    row = db.session.scalar(select(InboundCall))
    choices = dict(row.choices)
    choices["state"] = {**choices["state"], "step": "sector", "colour": "blue"}  # another version's
    choices["reply"] = {**choices["reply"], "gather": {**choices["reply"]["gather"], "speech_timeout": "auto"}}
    row.choices = choices
    db.session.commit()
    assert phone_line.answer(call.sid, n - 1, "1", NOW)[1].gather is not None  # the stored reply, read
    assert "cellule de crise" in " ".join(s.text for s in phone_line.answer(call.sid, n, "1", NOW)[1].says)


def test_an_overseas_number_is_read_in_pairs_and_pause_says_no_website(twilio_app, freeze_clock):
    freeze_clock(NOW)
    call = Call(twilio_app, caller="+262692123456").dial()
    assert "zéro six, quatre-vingt-douze, douze, trente-quatre, cinquante-six" in call.spoken
    runtime.update({"INTAKE_PAUSED": True}, ADMIN, NOW)
    paused = Call(twilio_app, sid="CA" + "7" * 32).dial()
    assert paused.ended and "suspendues" in paused.spoken and "rappel.example.fr" not in paused.spoken
