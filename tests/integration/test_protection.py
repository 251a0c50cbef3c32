"""Rate limits (per IP, Redis storage, memory fallback) and the health endpoint."""
from sqlalchemy import func, select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest
from tests.conftest import make_app

URL = "/api/v1/callback-requests"


def test_intake_is_rate_limited_per_ip_across_form_and_api(_migrated, redis_conn, valid_json, valid_form):
    app = make_app(RATELIMIT_INTAKE="2/minute", RATELIMIT_INTAKE_ATTEMPTS="50/minute")
    with app.app_context():
        client = app.test_client()
        try:
            assert client.post(URL, json=dict(valid_json, phone="0600000001")).status_code == 201
            assert client.post("/", data=dict(valid_form, phone="0600000002")).status_code == 302
            limited = client.post(URL, json=dict(valid_json, phone="0600000003"))
            assert limited.status_code == 429
            assert limited.mimetype == "application/problem+json"
            page = client.post("/", data=dict(valid_form, phone="0600000004"))
            assert page.status_code == 429
            assert "Trop de demandes" in page.get_data(as_text=True)
            # another client is not affected
            other = client.post(URL, json=dict(valid_json, phone="0600000005"),
                                environ_base={"REMOTE_ADDR": "192.0.2.7"})
            assert other.status_code == 201
            assert any(redis_conn.scan_iter(match="LIMITS*"))  # counted in Redis
            assert client.get("/").status_code == 200  # reading the form is never limited
        finally:
            db.session.query(CallbackRequest).delete()
            db.session.commit()


def test_invalid_attempts_have_their_own_looser_limit(_migrated, valid_form):
    app = make_app(RATELIMIT_INTAKE="2/minute", RATELIMIT_INTAKE_ATTEMPTS="4/minute")
    with app.app_context():
        client = app.test_client()
        codes = [client.post("/", data=dict(valid_form, phone="12")).status_code for _ in range(5)]
        assert codes == [422, 422, 422, 422, 429]


def test_rate_limit_falls_back_to_memory_when_redis_is_down(_migrated, valid_json):
    dead = "redis://127.0.0.1:1/0"
    app = make_app(REDIS_URL=dead, RATELIMIT_STORAGE_URI=dead, RATELIMIT_INTAKE="2/minute")
    with app.app_context():
        client = app.test_client()
        try:
            codes = [client.post(URL, json=dict(valid_json, phone=f"060000001{i}")).status_code for i in range(3)]
            assert codes == [201, 201, 429]  # still answers, still limits
            assert client.get("/").status_code == 200
            assert db.session.scalar(select(func.count()).select_from(CallbackRequest)) == 2
        finally:
            db.session.query(CallbackRequest).delete()
            db.session.commit()


def test_healthz_says_ok_publicly_and_details_to_operators(_migrated):
    """Before: public, it named the database backend and the Redis error class."""
    app = make_app(OPERATOR_TOKEN="ops-" + "x" * 30)
    with app.app_context():
        client = app.test_client()
        assert client.get("/healthz").get_json() == {"status": "ok"}
        # No worker or scheduler beats here: /readyz says so publicly, without saying which check failed.
        ready = client.get("/readyz")
        assert (ready.status_code, ready.get_json()) == (503, {"status": "unavailable"})
        assert client.get("/livez").get_json() == {"status": "ok"}
        assert "checks" not in client.get("/healthz", headers={"Authorization": "Bearer wrong"}).get_json()
        body = client.get("/healthz", headers={"Authorization": "Bearer ops-" + "x" * 30}).get_json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def test_healthz_is_503_when_redis_is_down(_migrated):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", OPERATOR_TOKEN="ops-token-for-the-test")
    with app.app_context():
        assert app.test_client().get("/healthz").get_json() == {"status": "unavailable"}
        response = app.test_client().get("/healthz", headers={"Authorization": "Bearer ops-token-for-the-test"})
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}
    assert body["checks"]["database"]["ok"] is True
