"""Simultaneous submissions for one phone create one request; every caller gets it."""
import threading

from sqlalchemy import func, select

from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, CallbackRequest

URL = "/api/v1/callback-requests"
THREADS = 8


def submit_concurrently(app, payloads):
    barrier = threading.Barrier(len(payloads))
    results, errors = [None] * len(payloads), []

    def worker(index, payload):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            try:
                response = client.post(URL, json=payload)
                results[index] = (response.status_code, response.get_json())
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, p)) for i, p in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_same_phone_submitted_at_once_creates_one_request(app, valid_json):
    # The same number written three ways: normalisation happens before the race.
    phones = ["06 98 76 54 32", "+33698765432", "0698765432", "06.98.76.54.32"]
    payloads = [dict(valid_json, phone=phones[i % len(phones)]) for i in range(THREADS)]
    results = submit_concurrently(app, payloads)

    statuses = sorted(status for status, _body in results)
    assert statuses == [200] * (THREADS - 1) + [201]
    assert all(body["duplicate"] is True and "reference" not in body for status, body in results if status == 200)
    assert db.session.scalar(select(func.count()).select_from(CallbackRequest)) == 1
    assert sum(body.get("reminder_sent", False) for _status, body in results) == 1  # one reminder, not seven
    request = db.session.scalar(select(CallbackRequest))
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.request_id == request.id)).all()
    assert sorted(a for a in actions if a != "request.link_reminded") == (
        ["request.duplicate_submission"] * (THREADS - 1) + ["request.submitted"])


def test_different_phones_at_once_all_get_their_request(app, valid_json):
    payloads = [dict(valid_json, phone=f"06 98 76 54 {i:02d}") for i in range(THREADS)]
    results = submit_concurrently(app, payloads)
    assert [status for status, _body in results] == [201] * THREADS
    assert len({body["reference"] for _status, body in results}) == THREADS
    assert db.session.scalar(select(func.count()).select_from(CallbackRequest)) == THREADS


def test_cancel_racing_with_itself_writes_one_event(app, client, valid_json):
    token = client.post(URL, json=valid_json).get_json()["token"]
    barrier = threading.Barrier(4)
    codes = []

    def cancel():
        with app.app_context():
            barrier.wait()
            codes.append(app.test_client().delete(f"{URL}/{token}").status_code)
            db.session.remove()

    threads = [threading.Thread(target=cancel) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [200, 409, 409, 409]
    db.session.rollback()  # end the test's own read snapshot before looking
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("request.cancelled") == 1
