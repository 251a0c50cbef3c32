"""The campaign pages: creating one (errors by field), its progress, the import through the pages
(upload → preview with errors by line → import → progress), the export, who sees what."""
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, Campaign

from .campaign_helpers import make_campaign
from .helpers import T0, make_staff, sign_in
from .test_public_form import text_of


def form(**changes):
    data = {"name": "Masques 71", "purpose": "Recenser les besoins.", "unit_ids": ["1"], "topic_id": "5",
            "script": "Bonjour", "q1_label": "Besoin de masques ?", "q1_kind": "yes_no",
            "q2_label": "Activité ?", "q2_kind": "choice", "q2_choices": "Ouverte\nFermée",
            "starts_on": T0.date().isoformat(), "ends_on": T0.date().replace(day=28).isoformat()
            if T0.day < 28 else T0.date().isoformat(), "call_from": "09:00", "call_until": "18:00",
            "max_attempts": "3", "retry_gap_minutes": "120", "priority": "callbacks_first", "agent_share": "50"}
    data.update(changes)
    return data


def test_a_manager_creates_a_campaign_and_errors_are_shown_by_field(app, client):
    assert sign_in(client, make_staff(role="manager")).status_code == 302
    bad = client.post("/pilotage/campagnes/nouvelle", data=form(name="", q2_choices="Une seule"))
    page = text_of(bad)
    assert bad.status_code == 422 and "Donnez un nom à la campagne." in page and "de 2 à 8 réponses" in page
    assert 'value="Recenser' not in page and "Recenser les besoins." in page  # the values typed are kept
    done = client.post("/pilotage/campagnes/nouvelle", data=form(), follow_redirects=True)
    assert "Campagne « Masques 71 » enregistrée." in text_of(done)
    campaign = db.session.scalar(select(Campaign).where(Campaign.name == "Masques 71"))
    assert [q["kind"] for q in campaign.questions] == ["yes_no", "choice"]
    assert "Masques 71" in text_of(client.get("/pilotage/campagnes"))


def test_the_import_goes_through_preview_then_progress(app, client):
    campaign = make_campaign(units=("idf-nord-om",))
    assert sign_in(client, make_staff(role="manager")).status_code == 302
    data = ("Nom;Entreprise;Téléphone;Code postal\nA;X;06 12 34 56 00;75011\nB;Y;12;75011\n").encode("cp1252")
    from io import BytesIO

    big = client.post(f"/pilotage/campagnes/{campaign.id}/import", content_type="multipart/form-data",
                      data={"file": (BytesIO(b"Nom;Telephone;CP\n" + b"A;0612345600;75011\n" * 8000), "big.csv")})
    assert big.status_code == 200 and "8000 lignes lues" in text_of(big)  # past the app's 64 kB request limit

    preview = client.post(f"/pilotage/campagnes/{campaign.id}/import",
                          data={"file": (BytesIO(data), "liste.csv")}, content_type="multipart/form-data")
    page = text_of(preview)
    assert "1 contacts à ajouter" in page and "ligne 3 : Téléphone" in page
    digest = __import__("hashlib").sha256(data).hexdigest()
    started = client.post(f"/pilotage/campagnes/{campaign.id}/import", data={
        "digest": digest, "filename": "liste.csv", "col_name": "0", "col_business_name": "1", "col_phone": "2",
        "col_postal_code": "3", "confirm": "1"})
    assert started.status_code == 302
    from chamber_callback.models import CampaignImport

    record = db.session.scalar(select(CampaignImport))
    from chamber_callback.jobs import import_campaign_contacts

    import_campaign_contacts(record.id)
    status = client.get(f"/pilotage/campagnes/{campaign.id}/import/{record.id}.json").get_json()
    assert status["status"] == "done" and status["report"]["added"] == 1
    assert "1 contacts ajoutés" in text_of(client.get(f"/pilotage/campagnes/{campaign.id}/import/{record.id}"))
    assert db.session.scalar(select(CallbackRequest.phone).where(CallbackRequest.campaign_id == campaign.id)) == \
        "+33612345600"
    export = client.get(f"/pilotage/campagnes/{campaign.id}/resultats.csv").get_data(as_text=True)
    assert export.startswith("\ufeffRéférence;Nom;Entreprise;Téléphone") and ";06 12 34 56 00;" in export
    assert "À appeler" in export


def test_a_senior_sees_only_the_campaigns_of_its_unit(app, client):
    ours, other = make_campaign(units=("idf-nord-om",)), make_campaign(units=("sud-est",))
    assert sign_in(client, make_staff(role="senior", unit="idf-nord-om")).status_code == 302
    listing = text_of(client.get("/pilotage/campagnes"))
    assert ours.name in listing and other.name not in listing
    assert client.get(f"/pilotage/campagnes/{other.id}").status_code == 404
    assert "Avancement" in text_of(client.get(f"/pilotage/campagnes/{ours.id}"))
