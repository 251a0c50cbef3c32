"""Importing a campaign's contacts: against the database (duplicates, requests in progress,
opt-outs, units), idempotent, the portfolio agent, the command line, the demo file, 50,000 rows."""
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from chamber_callback.domain.lifecycle import Status
from chamber_callback.extensions import db
from chamber_callback.models import CallAttempt, CallbackRequest, CallOptOut, Campaign
from chamber_callback.services import assignment
from chamber_callback.services.campaign_import import check, run, start_import, start_record

from .campaign_helpers import make_campaign
from .helpers import T0, make_request, make_staff, reload

HEADER = "Nom;Entreprise;Téléphone;SIRET;Code postal;Secteur\n"
DEMO = Path(__file__).resolve().parents[2] / "docs" / "demo-campaign.csv"


def contacts(campaign) -> list[CallbackRequest]:
    db.session.expire_all()
    return list(db.session.scalars(select(CallbackRequest).where(CallbackRequest.campaign_id == campaign.id)
                                   .order_by(CallbackRequest.id)))


def test_an_import_merges_requests_in_progress_skips_opt_outs_and_reports_lines(app):
    campaign = make_campaign(units=("idf-nord-om",))
    make_request(phone="+33612345601")  # a callback request in progress for this number
    db.session.add(CallOptOut(phone="+33612345602", created_at=T0))
    db.session.commit()
    data = (HEADER + "A;Atelier A;06 12 34 56 00;;75011;Bâtiment\n"
            "B;Atelier B;06 12 34 56 01;;75011;\n"
            "C;Atelier C;06 12 34 56 02;;75011;\n"
            "D;Atelier D;06 12 34 56 03;;13008;\n"  # another unit
            "E;Atelier E;pas un numéro;;75011;\n"
            "F;Atelier F;06 12 34 56 00;;75011;\n").encode("cp1252")
    preview = check(campaign, data)
    assert preview.counts == {"rows": 6, "to_add": 1, "errors": 2, "merged_in_file": 1, "already_in_campaign": 0,
                              "merged_with_request": 1, "opted_out": 1}
    assert [(e.line, e.field) for e in preview.errors] == [(5, "postal_code"), (6, "phone")]
    assert contacts(campaign) == []  # the preview writes nothing
    record = start_import(campaign, data, "liste.csv", preview.mapping, None, T0)
    from chamber_callback.jobs import import_campaign_contacts  # the worker's job, run here
    import_campaign_contacts(record.id)
    record = reload(record)
    assert record.status == "done" and record.report["added"] == 1 and record.processed_rows == 1
    assert [e["line"] for e in record.report["errors_shown"]] == [5, 6]
    assert "56 0" not in str(record.report) and "Atelier" not in str(record.report)  # no personal data
    [contact] = contacts(campaign)
    assert (contact.phone, contact.status, contact.channel, contact.sector) == (
        "+33612345600", Status.QUEUED, "campaign", "batiment")
    assert contact.sla_met is None and contact.next_escalation_at is None


def test_a_reference_drawn_twice_is_drawn_again(app, monkeypatch):
    campaign = make_campaign(units=("idf-nord-om",))
    taken = make_request().reference
    draws = iter([taken, "KKKK-AAAA", taken, "KKKK-CCCC"])  # two rows get a reference already in use
    monkeypatch.setattr("chamber_callback.services.campaign_import.new_reference", lambda: next(draws))
    data = (HEADER + "A;X;06 12 34 56 00;;75011;\nB;Y;06 12 34 56 01;;75011;\n").encode()
    record = run(start_record(campaign, data, "a.csv", check(campaign, data).mapping, None, T0).id,
                 data, check(campaign, data).mapping, T0)
    assert record.report["added"] == 2
    assert sorted(c.reference for c in contacts(campaign)) == ["KKKK-AAAA", "KKKK-CCCC"]


def test_importing_the_same_file_twice_adds_nothing(app):
    campaign = make_campaign(units=("idf-nord-om",))
    data = (HEADER + "A;X;06 12 34 56 00;;75011;\nB;Y;06 12 34 56 01;;75011;\n").encode()
    mapping = check(campaign, data).mapping
    first = run(start_record(campaign, data, "a.csv", mapping, None, T0).id, data, mapping, T0)
    second = run(start_record(campaign, data, "a.csv", mapping, None, T0).id, data, mapping, T0)
    assert first.report["added"] == 2 and second.report["added"] == 0
    assert second.report["already_in_campaign"] == 2 and len(contacts(campaign)) == 2


def test_the_agent_who_handles_the_artisan_is_its_portfolio_agent(app):
    agent = make_staff()
    old = make_request(phone="+33612345600", siret="73282932000074")
    offer = assignment.offer_next_to_agent(agent.id, T0)
    assignment.accept_offer(offer.id, reload(agent), T0)
    attempt = assignment.start_attempt(old.id, reload(agent), T0)
    assignment.record_outcome(attempt.id, reload(agent), "reached_resolved", T0 + timedelta(minutes=5))
    assert db.session.scalar(select(func.count()).select_from(CallAttempt)) == 1
    campaign = make_campaign(units=("idf-nord-om",))
    data = (HEADER + "A;X;06 12 34 56 99;73282932000074;75011;\nB;Y;06 12 34 56 98;;75011;\n").encode()
    mapping = check(campaign, data).mapping
    run(start_record(campaign, data, "a.csv", mapping, None, T0).id, data, mapping, T0)
    by_phone = {c.phone: c.preferred_agent_id for c in contacts(campaign)}
    assert by_phone == {"+33612345699": agent.id, "+33612345698": None}  # the same SIRET, another number


def test_the_command_creates_the_campaign_and_prints_the_report(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["campaign-import", "--campaign", "Masques Saône-et-Loire", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "Campagne « Masques Saône-et-Loire » créée." in result.output
    assert "40 contacts ajoutés" in result.output and "1 doublons dans le fichier" in result.output
    assert "ligne 42 : Téléphone" in result.output and "ligne 43 : Code postal" in result.output
    campaign = db.session.scalar(select(Campaign).where(Campaign.name == "Masques Saône-et-Loire"))
    assert len(contacts(campaign)) == 40
    again = runner.invoke(args=["campaign-import", "--campaign", "Masques Saône-et-Loire", str(DEMO)])
    assert "0 contacts ajoutés, 40 déjà dans la campagne" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("Prénom;Ville\nA;B\n")
    missing = runner.invoke(args=["campaign-import", "--campaign", "Autre", str(bad)])
    assert missing.exit_code == 1 and "Prénom, Ville" in missing.output


def test_fifty_thousand_rows_import(app):
    campaign = make_campaign(units=("idf-nord-om", "sud-est", "ouest", "est", "sud-ouest"))
    postals = ["75011", "13008", "35000", "67000", "33000"]
    lines = [f"Artisan {i};Atelier {i};06{i // 10000 + 10:02d}{i % 10000:04d}00;;{postals[i % 5]};Services"
             for i in range(50_000)]
    data = (HEADER + "\n".join(lines) + "\n").encode("cp1252")
    started = time.perf_counter()
    mapping = check(campaign, data).mapping
    record = run(start_record(campaign, data, "big.csv", mapping, None, T0).id, data, mapping, T0)
    elapsed = time.perf_counter() - started
    print(f"50,000 rows imported in {elapsed:.1f} s")
    assert record.status == "done" and record.report["added"] == 50_000, record.report
    assert db.session.scalar(select(func.count()).select_from(CallbackRequest)
                             .where(CallbackRequest.campaign_id == campaign.id)) == 50_000
