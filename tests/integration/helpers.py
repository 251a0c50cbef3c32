"""Builders for staff and requests used by the assignment tests, and a concurrent runner."""
import threading
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select

from chamber_callback.auth import issue_token
from chamber_callback.clock import utcnow
from chamber_callback.domain.actors import Actor
from chamber_callback.domain.intake import Intake, resolve_postal_code
from chamber_callback.domain.roles import needs_second_factor
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, StaffUser
from chamber_callback.services.intake import submit_request
from chamber_callback.services.staff import create_user

PASSWORD = "correct-horse-battery"
# "Now" for the tests: jobs run by the worker use the real clock, so the fixtures start from it.
T0 = datetime.now(UTC).replace(second=0, microsecond=0)
UNIT_POSTAL = {"idf-nord-om": "75011", "sud-est": "13008", "ouest": "35000", "est": "67000", "sud-ouest": "33000"}
_counter = {"n": 0}


def make_staff(role="agent", unit="idf-nord-om", skills=None, capacity=1, availability="available",
               email=None) -> StaffUser:
    _counter["n"] += 1
    user = create_user(email=email or f"{role}{_counter['n']}@example.fr", role=role, password=PASSWORD,
                       now=T0 - timedelta(hours=1), unit_code=unit if role in ("agent", "senior") else None,
                       phone="+33612345678", skills=skills, capacity=capacity)
    user.availability = availability  # set directly: no offers triggered while building fixtures
    if needs_second_factor(role):
        # Enrolled already, as after a first sign-in (tests/integration/test_two_factor.py enrols for real).
        user.totp_secret, user.totp_enabled_at = pyotp.random_base32(), T0 - timedelta(hours=1)
    user.availability_since = T0 - timedelta(hours=2) + timedelta(minutes=_counter["n"])  # first made: idle longest
    db.session.commit()
    return user


def token_for(user: StaffUser) -> dict:
    token = issue_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def make_request(unit="idf-nord-om", topic="pge", urgent=False, phone=None, now=T0, siret=None,
                 sla_hours=24) -> CallbackRequest:
    _counter["n"] += 1
    postal = UNIT_POSTAL[unit]
    intake = Intake(name="Artisan Test", business_name=f"Entreprise {_counter['n']}", sector="services",
                    phone=phone or f"+3319900{_counter['n']:04d}", postal_code=postal,
                    commune=resolve_postal_code(postal), topic=topic, description="Question", urgent=urgent,
                    urgency_reason="activite_menacee" if urgent else None, consent=True, siret=siret)
    return submit_request(intake, actor=Actor("artisan"), now=now, sla_hours=sla_hours).request


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def request_by_id(request_id) -> CallbackRequest:
    db.session.expire_all()
    return db.session.scalar(select(CallbackRequest).where(CallbackRequest.id == request_id))


def run_at_once(app, target, count: int, timeout: float = 120) -> None:
    """Run ``target(index)`` in ``count`` threads released together, each with its own app
    context and session; fails the test with the threads' exceptions."""
    barrier, errors = threading.Barrier(count), []

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                target(index)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not errors, errors
    db.session.rollback()  # the caller reads what the threads committed


def second_factor_code(user: StaffUser) -> str:
    """A code the account's app would show now and that was not used yet (one step of drift)."""
    db.session.expire_all()
    user = db.session.get(StaffUser, user.id)
    totp, current = pyotp.TOTP(user.totp_secret), pyotp.TOTP(user.totp_secret).timecode(utcnow())
    last = user.totp_last_step if user.totp_last_step is not None else -1
    step = next(s for s in (current - 1, current, current + 1) if s > last)
    return totp.generate_otp(step)


def sign_in(client, user: StaffUser, password: str = PASSWORD):
    """Sign in through the login page, with the second factor when the role needs one; returns the
    last response (a redirect to the role's landing page when it worked)."""
    response = client.post("/connexion", data={"email": user.email, "password": password})
    if response.status_code == 302 and response.headers["Location"].endswith("/connexion/code"):
        response = client.post("/connexion/code", data={"code": second_factor_code(user)})
    return response
