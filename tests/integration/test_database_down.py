"""While the database does not answer, the form and the API say so in French with the chamber's
phone number (503, retry later), and recover by themselves once it is back."""
from tests.conftest import make_app

DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/absent"  # nothing listens on port 1


def test_form_and_api_answer_503_with_the_phone_number(_migrated, valid_form, valid_json):
    app = make_app(DATABASE_URL=DOWN, CHAMBER_PHONE="03 85 00 00 00")
    with app.app_context():
        client = app.test_client()
        for response in (client.get("/"), client.post("/", data=valid_form)):
            page = response.get_data(as_text=True)
            assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
            assert "Service momentanément indisponible" in page and "03 85 00 00 00" in page
            assert "rien n'a été gardé" in page
        api = client.post("/api/v1/callback-requests", json=valid_json)
        assert api.status_code == 503 and api.mimetype == "application/problem+json"
        assert api.json["chamber_phone"] == "03 85 00 00 00" and "Réessayez" in api.json["detail"]
        assert client.get("/livez").status_code == 200  # the process itself is fine
        assert client.get("/healthz").status_code == 503
