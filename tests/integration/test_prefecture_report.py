"""The anonymised daily needs report for the prefecture: the page, its CSV and printable page, the
recipients setting, and the morning e-mail sent exactly once whatever the number of schedulers.

A hand-made day (Tuesday 17 November 2026, Paris) with every row known:

- « Prêt garanti par l'État », Ille-et-Vilaine, services: Rennes 12 (6 urgent), Saint-Malo 7,
  Fougères 3 → Rennes 12 and « autres communes » 10 (Fougères alone would be 3);
- « Aides et fonds de solidarité »: Paris 11e 8 (6 food, 2 services: « tous secteurs »), Marseille 2
  and Strasbourg 3 → « autres départements » 5;
- « Reports de charges » 1 and « Formalités » 4, in Bordeaux → « autres sujets » 5;
- the week before: 21 requests in Rennes (the trend of its row: 12 against 3 a day, +300 %).
"""
import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chamber_callback import jobs
from chamber_callback.domain.actors import SYSTEM
from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, CallbackRequest, ReportSend, Setting
from chamber_callback.notify.email import FileMailer, MailError
from chamber_callback.services import needs_report, settings
from tests.integration.helpers import make_request, make_staff, run_at_once
from tests.integration.test_staff_access import login

DAY = date(2026, 11, 17)
NOW = datetime(2026, 11, 18, 6, 30, tzinfo=UTC)  # 07:30 in Paris, the morning after
AT = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)  # 10:00 in Paris on the day
SIRET = "73282932000074"
RECIPIENTS = ["cellule.crise@prefecture.example.fr", "ddpp@prefecture.example.fr"]


def need(unit, topic, at=AT, *, commune=None, sector=None, urgent=False, siret=None) -> CallbackRequest:
    request = make_request(unit=unit, topic=topic, urgent=urgent, now=at, siret=siret)
    if commune:
        request.commune_insee, request.commune_name = commune
    if sector:
        request.sector = sector
    request.description = f"Question confidentielle {request.id}"
    db.session.commit()
    return request


@pytest.fixture
def day(app):
    made = []
    for i in range(12):
        made.append(need("ouest", "pge", AT + timedelta(minutes=i), urgent=i < 6, siret=SIRET if i == 0 else None))
    made += [need("ouest", "pge", commune=("35288", "Saint-Malo")) for _ in range(7)]
    made += [need("ouest", "pge", commune=("35115", "Fougères")) for _ in range(2)]
    # 23:30 in Paris: still the 17th.
    made.append(need("ouest", "pge", datetime(2026, 11, 17, 22, 30, tzinfo=UTC), commune=("35115", "Fougères")))
    made += [need("idf-nord-om", "aides", sector="alimentation") for _ in range(6)]
    made += [need("idf-nord-om", "aides") for _ in range(2)]
    made += [need("sud-est", "aides") for _ in range(2)]
    made += [need("est", "aides") for _ in range(3)]
    made.append(need("sud-ouest", "charges"))
    made += [need("sud-ouest", "formalites") for _ in range(4)]
    for back in range(1, 8):  # the week before: 3 a day in Rennes
        made += [need("ouest", "pge", AT - timedelta(days=back)) for _ in range(3)]
    # Neither the day after (00:30 in Paris on the 18th) nor 8 days before.
    need("ouest", "pge", datetime(2026, 11, 17, 23, 30, tzinfo=UTC))
    need("ouest", "pge", AT - timedelta(days=8))
    return made


EXPECTED = [  # topic, département, commune, sector, count, urgent share, trend
    ("Prêt garanti par l'État", "35 Ille-et-Vilaine", "Rennes", "Services", "12", "50\u00a0%", "+300\u00a0%"),
    ("Prêt garanti par l'État", "35 Ille-et-Vilaine", "Autres communes", "Services", "10", "< 5 urgentes", "—"),
    ("Aides et fonds de solidarité", "75 Paris", "Paris 11e Arrondissement", "Tous secteurs", "8", "< 5 urgentes",
     "—"),
    ("Aides et fonds de solidarité", "Autres départements", "Toutes communes", "Services", "5", "< 5 urgentes", "—"),
    ("Autres sujets", "33 Gironde", "Bordeaux", "Services", "5", "< 5 urgentes", "—"),
]
# 40 requests against 21 in the 7 days before; the urgent share of the total would tell the withheld rows'.
EXPECTED_TOTAL = ("40", "non publiée", "+1230\u00a0%")


def manager_client(app):
    client = app.test_client()
    login(client, make_staff(role="manager", availability="offline"))
    return client


def table_rows(html: str) -> list[tuple[str, ...]]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL):
        cells = [unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                 for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
        rows.append(tuple(cells))
    return rows


def total_cells(html: str) -> tuple[str, ...]:
    foot = html.split("<tfoot>")[1].split("</tfoot>")[0]
    return tuple(unescape(cell) for cell in re.findall(r'data-cell="\w+">([^<]*)<', foot))


def page_rows(html: str) -> list[tuple[str, ...]]:
    return [(topic, departement, commune, sector, count, urgent, trend)
            for topic, departement, commune, sector, count, urgent, trend in table_rows(html)]


def test_the_page_shows_anonymised_figures_and_nothing_personal(app, day, freeze_clock):
    freeze_clock(NOW)
    client = manager_client(app)
    response = client.get("/pilotage/prefecture")  # yesterday by default
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Remontée des besoins des artisans — mardi 17 novembre 2026" in html
    assert page_rows(html) == EXPECTED
    assert total_cells(html) == EXPECTED_TOTAL
    counts = re.findall(r'data-cell="count">([^<]*)<', html)
    assert counts and all(value == "< 5" or int(value) >= 5 for value in counts)
    for request in day:
        assert request.reference not in html and request.business_name not in html
        assert request.description not in html and request.phone not in html
        assert request.phone[-8:] not in html.replace(" ", "")
    assert "Artisan Test" not in html and SIRET not in html and "Fougères" not in html and "Saint-Malo" not in html
    assert 'type="date"' in html and 'value="2026-11-17"' in html
    # Another day: the day before has 3 requests only: everything is « < 5 ».
    html = client.get("/pilotage/prefecture?jour=2026-11-16").get_data(as_text=True)
    assert page_rows(html) == [("Tous sujets", "Tous départements", "Toutes communes", "Tous secteurs", "< 5",
                                "non publiée", "—")]
    assert total_cells(html) == ("< 5", "non publiée", "—")
    assert "Aucune demande reçue ce jour-là" in client.get("/pilotage/prefecture?jour=2026-11-01").get_data(
        as_text=True)
    shown = client.get("/pilotage/prefecture?jour=2099-01-01")
    assert shown.status_code == 200 and "Choisissez un jour" in shown.get_data(as_text=True)
    assert "Date illisible" in client.get("/pilotage/prefecture?jour=hier").get_data(as_text=True)


def test_the_csv_has_the_page_figures(app, day, freeze_clock):
    freeze_clock(NOW)
    client = manager_client(app)
    html = client.get("/pilotage/prefecture?jour=2026-11-17").get_data(as_text=True)
    response = client.get("/pilotage/prefecture.csv?jour=2026-11-17")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="besoins-artisans-2026-11-17.csv"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == ["Sujet", "Code département", "Département", "Secteur", "Code commune (INSEE)", "Commune",
                       "Demandes", "Part urgente", "Tendance sur 7 jours"]
    as_page = [(topic, f"{code} {name}".strip(), commune, sector, count, urgent, trend)
               for topic, code, name, sector, _insee, commune, count, urgent, trend in rows[1:-1]]
    assert as_page == page_rows(html) == EXPECTED
    assert rows[1][4] == "35238" and rows[2][4] == ""
    assert tuple(rows[-1][6:]) == total_cells(html) and rows[-1][0] == "Total"
    assert not any(re.fullmatch(r"[1-4]", cell) for row in rows for cell in row)
    exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.prefecture"))
    assert exported.data == {"filters": {"jour": "2026-11-17"}, "personal_data": False}
    # Suppressed cells read « < 5 » in the file too; a bad date is refused.
    small = list(csv.reader(io.StringIO(client.get("/pilotage/prefecture.csv?jour=2026-11-16")
                                        .get_data(as_text=True)[1:]), delimiter=";"))
    assert small[1][6] == "< 5" and small[-1][6] == "< 5"
    assert client.get("/pilotage/prefecture.csv?jour=demain").status_code == 400


def test_the_printable_page_is_one_a4_page_without_navigation(app, day, freeze_clock):
    freeze_clock(NOW)
    client = manager_client(app)
    response = client.get("/pilotage/prefecture/imprimer?jour=2026-11-17")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "<h1>Remontée des besoins des artisans — mardi 17 novembre 2026</h1>" in html
    assert app.config["CHAMBER_NAME"] in html and "Données anonymes" in html
    assert "staff-nav" not in html and "Déconnexion" not in html and "print-report.css" in html
    assert page_rows(html) == EXPECTED
    css = client.get("/static/css/print-report.css").get_data(as_text=True)
    assert "size: A4" in css and "@media print" in css
    # The page links to it and to the CSV; managers find the page in the menu.
    shown = client.get("/pilotage/prefecture?jour=2026-11-17").get_data(as_text=True)
    assert "/pilotage/prefecture/imprimer?jour=2026-11-17" in shown
    assert "/pilotage/prefecture.csv?jour=2026-11-17" in shown and "Télécharger (CSV)" in shown
    assert 'href="/pilotage/prefecture">Préfecture</a>' in client.get("/pilotage").get_data(as_text=True)


@pytest.mark.parametrize("role", ["agent", "senior", "manager", "admin", "dpo", "anonymous"])
def test_managers_and_admins_only(app, role):
    client = app.test_client()
    if role != "anonymous":
        login(client, make_staff(role=role, availability="offline"))
    for path in ("/pilotage/prefecture", "/pilotage/prefecture.csv", "/pilotage/prefecture/imprimer"):
        response = client.get(path)
        response.get_data()
        if role == "anonymous":
            assert response.status_code == 302 and "/connexion" in response.headers["Location"]
        else:
            assert response.status_code == (200 if role in ("manager", "admin") else 403), (role, path)


# --- the recipients --------------------------------------------------------------------------------

def _crisis(client, **values):
    data = {"CHAMBER_PHONE": "03 80 63 13 00", "PUBLIC_BANNER": "", "INTAKE_PAUSED_MESSAGE": ""}
    data.update(values)
    return client.post("/admin/crise", data=data)


def test_the_admin_setting_checks_the_addresses(app):
    client = app.test_client()
    login(client, make_staff(role="admin", availability="offline"))
    refused = _crisis(client, PREFECTURE_REPORT_RECIPIENTS="cellule@prefecture.example.fr, pas-une-adresse\nx@y")
    shown = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "Rien n'a été enregistré" in shown
    assert "« pas-une-adresse » n'est pas une adresse e-mail valide." in shown
    assert "« x@y » n'est pas une adresse e-mail valide." in shown
    assert db.session.get(Setting, "PREFECTURE_REPORT_RECIPIENTS") is None
    typed = " Cellule.Crise@Prefecture.Example.fr ;\r\nddpp@prefecture.example.fr, cellule.crise@prefecture.example.fr"
    accepted = _crisis(client, PREFECTURE_REPORT_RECIPIENTS=typed)
    assert accepted.status_code == 302
    assert db.session.get(Setting, "PREFECTURE_REPORT_RECIPIENTS").value == (
        "Cellule.Crise@prefecture.example.fr\nddpp@prefecture.example.fr")
    assert settings.report_recipients() == ["Cellule.Crise@prefecture.example.fr", "ddpp@prefecture.example.fr"]
    assert "Destinataires de la remontée quotidienne" in client.get("/admin/crise").get_data(as_text=True)
    assert _crisis(client, PREFECTURE_REPORT_RECIPIENTS="").status_code == 302
    assert settings.report_recipients() == []


# --- the morning e-mail ----------------------------------------------------------------------------

@pytest.fixture
def mail_log(app):
    path = Path(app.config["MAIL_LOG"])
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)


def sent_to(mail_log: Path) -> list[str]:
    if not mail_log.exists():
        return []
    return re.findall(r"^To: (.+)$", mail_log.read_text(encoding="utf-8"), re.MULTILINE)


def with_recipients(addresses=RECIPIENTS):
    settings.update({"PREFECTURE_REPORT_RECIPIENTS": ", ".join(addresses)}, SYSTEM, NOW - timedelta(days=1))


def sends():
    db.session.expire_all()
    return db.session.scalars(select(ReportSend)).all()


def test_the_daily_send_happens_exactly_once_with_two_schedulers(app, day, freeze_clock, mail_log):
    with_recipients()
    freeze_clock(NOW.replace(hour=5, minute=55))  # 06:55 in Paris: not yet
    assert jobs.prefecture_report_tick() == "not_yet" and sent_to(mail_log) == [] and sends() == []
    freeze_clock(NOW)
    results = []
    run_at_once(app, lambda _index: results.append(jobs.prefecture_report_tick()), 2)
    assert sorted(results) in (["claimed_elsewhere", "sent"], ["already_sent", "sent"])
    assert jobs.prefecture_report_tick() == "already_sent"
    assert jobs.prefecture_report_tick() == "already_sent"
    freeze_clock(NOW + timedelta(hours=3))
    assert jobs.prefecture_report_tick() == "already_sent"
    assert sorted(sent_to(mail_log)) == RECIPIENTS  # one e-mail each
    [row] = sends()
    assert (row.kind, row.day, row.recipients, row.sent_at, row.claim_token) == (
        "prefecture_needs", DAY, 2, NOW, None)
    text = mail_log.read_text(encoding="utf-8")
    assert "Subject: Remontée des besoins des artisans — mardi 17 novembre 2026" in text
    assert "https://rappel.example.fr/pilotage/prefecture?jour=2026-11-17" in text
    assert "Méthode" in text and app.config["CHAMBER_NAME"] in text
    rennes = next(line for line in text.splitlines() if "Rennes" in line)
    assert "12" in rennes and "50\u00a0%" in rennes and "+300\u00a0%" in rennes
    assert "Fougères" not in text and "Artisan Test" not in text and SIRET not in text
    total = next(line for line in text.splitlines() if line.startswith("Total"))
    assert total.split()[1] == "40"


def test_no_recipients_no_send(app, freeze_clock, mail_log):
    freeze_clock(NOW)
    assert jobs.prefecture_report_tick() == "no_recipients"
    assert sent_to(mail_log) == [] and sends() == []


class FlakyMailer(FileMailer):
    """Refuses one address a given number of times, then works."""

    def __init__(self, path, refuse: str, times: int):
        super().__init__(path, sender="rappels@example.fr")
        self.refuse, self.times = refuse, times

    def send(self, to, subject, body):
        if to == self.refuse and self.times:
            self.times -= 1
            raise MailError("SMTPServerDisconnected: down")
        super().send(to, subject, body)


def test_a_failed_send_is_retried_without_sending_twice_to_those_done(app, day, freeze_clock, mail_log):
    with_recipients()
    app.extensions["mailer"] = FlakyMailer(mail_log, refuse=RECIPIENTS[1], times=1)
    freeze_clock(NOW)
    assert jobs.prefecture_report_tick() == "failed"
    [row] = sends()
    assert (row.sent_at, row.claim_token, row.recipients, row.sent_to) == (None, None, 1, RECIPIENTS[:1])
    assert "SMTPServerDisconnected" in row.last_error
    freeze_clock(NOW + timedelta(minutes=5))
    assert jobs.prefecture_report_tick() == "sent"
    assert jobs.prefecture_report_tick() == "already_sent"
    assert sorted(sent_to(mail_log)) == RECIPIENTS
    [row] = sends()
    assert (row.recipients, row.attempts, row.last_error) == (2, 2, None)


def test_a_claim_left_by_a_dead_run_is_taken_over_after_a_while(app, freeze_clock, mail_log):
    with_recipients()
    db.session.add(ReportSend(kind="prefecture_needs", day=DAY, claimed_at=NOW - timedelta(minutes=5),
                              claim_token="a" * 32, sent_to=[RECIPIENTS[0]], recipients=1))
    db.session.commit()
    freeze_clock(NOW)
    assert jobs.prefecture_report_tick() == "claimed_elsewhere"  # maybe still sending
    assert sent_to(mail_log) == []
    freeze_clock(NOW + needs_report.CLAIM_TIMEOUT)
    assert jobs.prefecture_report_tick() == "sent"
    assert sent_to(mail_log) == [RECIPIENTS[1]]  # the first one had it already
    assert db.session.scalar(select(func.count()).select_from(ReportSend)) == 1
