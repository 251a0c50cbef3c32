"""Flask commands: ``flask --app chamber_callback <command>``."""
from __future__ import annotations

import logging
import random
import sys
from datetime import datetime, timedelta

import click
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from .campaign_cli import campaign_import_command
from .clock import utcnow
from .domain.geography import communes_for
from .domain.intake import DEFAULT_TOPICS, URGENCY_REASONS, Intake
from .domain.roles import ALL_ROLES, TAKES_CALLS
from .extensions import db
from .models import CallbackRequest
from .queues import REDIS_ERRORS
from .simulate_cli import simulate_command

# Numbers from the ranges ARCEP reserves for fiction (01 99 00 …, 02 61 91 …): never a real person.
DEMO_PHONE_PREFIX = "+3319900"
DEMO_AGENT_PHONE_PREFIX = "+3326191"

DEMO_PEOPLE = [
    ("Martine Lefèvre", "Boulangerie Lefèvre", "alimentation", "75011"),
    ("Karim Benali", "Plomberie Benali", "batiment", "13008"),
    ("Sophie Durand", "Salon Sophie Coiffure", "services", "69003"),
    ("Jean-Marc Robert", "Menuiserie Robert", "fabrication", "35000"),
    ("Nathalie Girard", "Fleurs & Cie", "services", "33000"),
    ("Thomas Muller", "Boucherie Muller", "alimentation", "67000"),
    ("Isabelle Moreau", "Optique Moreau", "services", "59000"),
    ("Lucas Fontaine", "Électricité Fontaine", "batiment", "31000"),
    ("Claire Petit", "Pâtisserie Claire", "alimentation", "44000"),
    ("Mehdi Haddad", "Garage Haddad", "services", "06000"),
    ("Anne Lambert", "Couture Lambert", "fabrication", "21000"),
    ("Paul Marchand", "Maçonnerie Marchand", "batiment", "29200"),
    ("Julie Roux", "Esthétique Julie", "services", "34000"),
    ("Marc Henry", "Charcuterie Henry", "alimentation", "57000"),
    ("Élodie Blanc", "Atelier Céramique Blanc", "fabrication", "84000"),
    ("Rémi Garnier", "Taxi Garnier", "services", "97400"),
    ("Chantal Faure", "Cordonnerie Faure", "services", "20200"),
    ("Hugo Perrin", "Chauffage Perrin", "batiment", "38000"),
    ("Sandrine Rey", "Fromagerie Rey", "alimentation", "74000"),
    ("Olivier Caron", "Imprimerie Caron", "fabrication", "80000"),
]
DEMO_QUESTIONS = {
    "aides": "Je voudrais savoir si j'ai droit au fonds de solidarité ce mois-ci.",
    "activite_partielle": "Comment mettre mes deux salariés en activité partielle ?",
    "pge": "Ma banque hésite pour le prêt garanti, que faire ?",
    "charges": "Puis-je reporter mes cotisations du trimestre ?",
    "sanitaire": "Quelles règles pour accueillir des clients dans ma boutique ?",
    "formalites": "Je dois modifier l'adresse de mon entreprise.",
    "autre": "J'ai une question sur ma situation, merci de me rappeler.",
}


DEMO_PASSWORD = "rappel-demo-2026"
DEMO_DOMAIN = "demo.cma.fr"
# Skills per agent slot in each unit: varied, so routing by skill shows.
DEMO_SKILLS = [
    None,  # the senior: every topic
    ["aides", "activite_partielle", "pge", "charges", "autre"],
    ["sanitaire", "formalites", "autre", "aides"],
    ["pge", "charges", "formalites", "activite_partielle"],
]


def register_cli(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(reconcile_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(issue_token_command)
    app.cli.add_command(demo_logins_command)
    app.cli.add_command(sla_tick_command)
    app.cli.add_command(closed_day_command)
    app.cli.add_command(purge_command)
    app.cli.add_command(demo_code_command)
    app.cli.add_command(export_personal_data_command)
    app.cli.add_command(erase_personal_data_command)
    app.cli.add_command(simulate_command)
    app.cli.add_command(campaign_import_command)
    app.cli.add_command(vapid_keys_command)


@click.command("vapid-keys")
def vapid_keys_command():
    """Print a new Web Push (VAPID) key pair for the environment of a production site."""
    from .services.push import new_private_key, public_key_of

    private = new_private_key()
    click.echo(f"VAPID_PRIVATE_KEY={private}")
    click.echo(f"# public key (browsers receive it from the console; nothing to configure): {public_key_of(private)}")


@click.command("purge-personal-data")
@click.option("--dry-run", is_flag=True, help="Only count what would be erased.")
def purge_command(dry_run):
    """Erase the personal data of requests closed more than RETENTION_DAYS ago."""
    from .services.retention import purge_details, purge_personal_data

    now, days, total = utcnow(), current_app.config["RETENTION_DAYS"], 0
    while True:
        count = purge_personal_data(now, days, dry_run=dry_run)
        total += count
        if dry_run or count == 0:
            break
    verb = "would be erased" if dry_run else "erased"
    click.echo(f"{total} request(s) closed more than {days} days ago: personal data {verb}.")
    if not dry_run:
        config = current_app.config
        counts = purge_details(now, config["RETENTION_NOTES_DAYS"], config["RETENTION_MESSAGES_DAYS"],
                               config["RETENTION_AUDIT_DAYS"])
        click.echo(f"{counts['notes']} call note(s), {counts['messages']} message(s), {counts['reads']} read "
                   f"record(s) and {counts['details']} audit detail(s) past their retention period erased.")


@click.command("sla-tick")
def sla_tick_command():
    """One escalation pass: fire the levels that are due (safe to run at any time)."""
    from .services.notifications import send_pending_emails
    from .services.sla import sla_tick

    counts = sla_tick(utcnow())
    counts.update(send_pending_emails())
    click.echo(", ".join(f"{key}={value}" for key, value in counts.items()))


@click.command("closed-day")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--unit", "unit_code", help="Only this unit (default: the whole chamber).")
@click.option("--reason", help="Shown to staff.")
@click.option("--remove", is_flag=True, help="Open that day again.")
def closed_day_command(day, unit_code, reason, remove):
    """Close (or reopen) a day for the business-hours SLA clock, e.g. 2026-12-24."""
    from .domain.actors import Actor
    from .models import RegionalUnit
    from .services.closed_days import ClosedDayError, add_closed_day, remove_closed_day

    unit_id = None
    if unit_code:
        unit_id = db.session.scalar(select(RegionalUnit.id).where(RegionalUnit.code == unit_code))
        if unit_id is None:
            raise click.ClickException(f"Unknown unit {unit_code}.")
    actor, now = Actor("system", "cli"), utcnow()
    if remove:
        change = remove_closed_day(day.date(), unit_id, actor=actor, now=now)
        click.echo(f"{day.date()} open again ({change.changed} closure(s) removed).")
        return
    try:
        moved = add_closed_day(day.date(), unit_id, reason, actor=actor, now=now).moved
    except ClosedDayError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{day.date()} closed{' for ' + unit_code if unit_code else ''}; "
               f"{moved} waiting request(s) got a later deadline.")


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in ALL_ROLES]), required=True)
@click.option("--unit", "unit_code", help="Regional unit code (agents and seniors).")
@click.option("--password", help="Prompted for when not given.")
@click.option("--name", help="Display name (defaults to the e-mail's local part).")
@click.option("--phone", help="The agent's own phone (E.164 or French format).")
@click.option("--skills", help="Comma-separated topic codes (default: every topic).")
@click.option("--capacity", default=1, show_default=True, help="Calls held at once.")
def create_user_command(email, role, unit_code, password, name, phone, skills, capacity):
    """Create a staff account."""
    from .services.staff import AccountError, create_user

    if not password:
        password = click.prompt(_("Mot de passe"), hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email=email, role=role, password=password, now=utcnow(), name=name,
                           unit_code=unit_code, phone=phone, capacity=capacity,
                           skills=[s.strip() for s in skills.split(",")] if skills else None)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@click.command("issue-token")
@click.argument("email")
@click.option("--label", help="What the token is for (e.g. softphone).")
@click.option("--revoke", is_flag=True, help="Revoke every token of this user instead.")
def issue_token_command(email, label, revoke):
    """Print a personal API token for the staff JSON API (shown once, stored hashed)."""
    from .models import StaffUser
    from .services.staff import new_api_token, revoke_tokens

    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No staff account for {email}.")
    now = utcnow()
    if revoke:
        click.echo(f"{revoke_tokens(user, now)} token(s) revoked.")
        return
    click.echo(new_api_token(user, now, label))


@click.command("demo-logins")
def demo_logins_command():
    """Print the demo accounts created by seed-demo."""
    from .models import StaffUser

    users = db.session.scalars(select(StaffUser).where(StaffUser.email.endswith("@" + DEMO_DOMAIN))
                               .order_by(StaffUser.id)).all()
    if not users:
        click.echo("No demo accounts (run seed-demo).")
        return
    click.echo(f"Demo accounts (password: {DEMO_PASSWORD}):")
    for user in users:
        unit = f" [{user.unit.code}]" if user.unit else ""
        click.echo(f"  {user.role:<8} {user.email}{unit}")
    click.echo("  Seniors, managers and admins also give a code from an authenticator app. The demo accounts\n"
               "  are enrolled already: print the current code with `.venv/bin/flask --app chamber_callback\n"
               "  demo-code EMAIL` (demo accounts of a development installation only).")


@click.command("demo-code")
@click.argument("email")
def demo_code_command(email: str) -> None:
    """The current sign-in code of a demo account, for a demo without an authenticator app."""
    import pyotp

    from .clock import utcnow
    from .models import StaffUser

    if current_app.config["APP_ENV"] == "production" or not email.endswith("@" + DEMO_DOMAIN):
        raise click.ClickException("demo-code only serves the demo accounts of a development installation.")
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None or not user.totp_secret:
        raise click.ClickException("This account has no second factor yet: sign in once to enrol it.")
    click.echo(pyotp.TOTP(user.totp_secret).at(utcnow()))


@click.command("seed-demo")
@click.option("--count", default=30, show_default=True, help="Demo requests to create.")
def seed_demo(count: int) -> None:
    """Fill an empty installation with demo staff and requests (fictional numbers 01 99 00 …)."""
    from .domain.actors import Actor
    from .services import settings
    from .services.intake import cancel_request, submit_request

    # make run seeds before the embedded Redis starts: one line instead of a warning per request.
    for name in ("chamber_callback.queues", "chamber_callback.services"):
        logging.getLogger(name).setLevel(logging.ERROR)
    _seed_demo_staff()
    existing = db.session.scalar(
        select(func.count()).select_from(CallbackRequest).where(CallbackRequest.phone.startswith(DEMO_PHONE_PREFIX))
    )
    if existing:
        click.echo(f"Demo data already present ({existing} requests): nothing to do.")
        return
    rng = random.Random(42)
    now = utcnow()
    sla_hours = settings.get("SLA_HOURS")
    demo = Actor("system", "seed-demo")
    history = _seed_demo_history(now, rng, sla_hours)
    created = cancelled = 0
    for index in range(count):
        person, business, sector, postal_code = DEMO_PEOPLE[index % len(DEMO_PEOPLE)]
        topic = DEFAULT_TOPICS[index % len(DEFAULT_TOPICS)][0]
        urgent = rng.random() < 0.25
        submitted = now - timedelta(hours=sla_hours * rng.uniform(0.02, 0.95))
        intake = Intake(
            name=person, business_name=business, sector=sector, phone=f"{DEMO_PHONE_PREFIX}{index:04d}",
            postal_code=postal_code, commune=communes_for(postal_code)[0], topic=topic,
            description=DEMO_QUESTIONS[topic], urgent=urgent, consent=True,
            urgency_reason=rng.choice(list(URGENCY_REASONS)) if urgent else None, channel="web",
        )
        submission = submit_request(intake, actor=demo, now=submitted, sla_hours=sla_hours)
        created += 1
        if index % 9 == 8:
            cancel_request(submission.request, actor=demo, now=submitted + timedelta(minutes=20),
                           reason="demo: the artisan no longer needs a call")
            cancelled += 1
    handled = _seed_demo_calls(now)
    click.echo(f"Demo data: {created} requests created ({cancelled} cancelled, {handled} already called), "
               f"and {history} over the last 7 days for the dashboard and reports.")
    if not db.session.scalar(select(func.count()).select_from(CallbackRequest)
                             .where(CallbackRequest.enqueued_at.is_not(None))):
        click.echo("Redis is not running yet: the reconciler queues these requests once the worker starts.")


def _seed_demo_history(now: datetime, rng: random.Random, sla_hours: float, per_day: int = 12) -> int:
    """A week of closed requests, called through the real services at past times, so that the
    dashboard's charts and the reports have something to show (most called in time, a few
    late, some cancelled)."""
    from sqlalchemy import update

    from .domain.actors import Actor
    from .models import ArtisanMessage, Offer, StaffUser
    from .services.assignment import accept_offer, assign_request, record_outcome, start_attempt
    from .services.intake import cancel_request, submit_request

    demo = Actor("system", "seed-demo")
    agents = db.session.scalars(select(StaffUser).where(StaffUser.email.endswith("@" + DEMO_DOMAIN),
                                                        StaffUser.role.in_(TAKES_CALLS))).all()
    made = []
    for index in range(7 * per_day):
        submitted = now - timedelta(days=7) + timedelta(hours=rng.uniform(0, 7 * 24 - sla_hours * 1.2))
        submitted = submitted.replace(hour=rng.choice((7, 8, 9, 10, 11, 13, 14, 16, 18, 19, 20)))
        if submitted > now - timedelta(hours=sla_hours * 1.1):
            submitted -= timedelta(days=1)
        person, business, sector, postal_code = DEMO_PEOPLE[index % len(DEMO_PEOPLE)]
        topic = DEFAULT_TOPICS[rng.randrange(len(DEFAULT_TOPICS))][0]
        urgent = rng.random() < 0.2
        intake = Intake(name=person, business_name=business, sector=sector,
                        phone=f"{DEMO_PHONE_PREFIX}{1000 + index:04d}", postal_code=postal_code,
                        commune=communes_for(postal_code)[0], topic=topic, description=DEMO_QUESTIONS[topic],
                        urgent=urgent, urgency_reason=rng.choice(list(URGENCY_REASONS)) if urgent else None,
                        consent=True, channel="web")
        request = submit_request(intake, actor=demo, now=submitted, sla_hours=sla_hours).request
        made.append(request.id)
        if rng.random() < 0.08:
            cancel_request(request, actor=demo, now=submitted + timedelta(hours=rng.uniform(0.2, 6)))
            continue
        # Most are called well within the promise; about one in ten after it.
        wait = rng.uniform(1.02, 1.4) if rng.random() < 0.1 else rng.betavariate(1.3, 4)
        called = submitted + timedelta(hours=sla_hours * wait)
        agent = next((a for a in agents if a.unit_id == request.unit_id and request.topic in a.skills),
                     None) or next(a for a in agents if a.unit_id == request.unit_id)
        agent.availability = "available"
        db.session.commit()
        if assign_request(request.id, called) != agent.id:
            continue
        offer = db.session.scalar(select(Offer).where(Offer.request_id == request.id, Offer.status == "pending"))
        accept_offer(offer.id, agent, called)
        attempt = start_attempt(request.id, agent, called)
        outcome = rng.choices(["reached_resolved", "wrong_number", "refused"], weights=(90, 4, 6))[0]
        record_outcome(attempt.id, agent, outcome, called + timedelta(minutes=rng.uniform(3, 15)))
        agent.availability = "offline"
        db.session.commit()
    # The artisans of the past already had their text messages.
    db.session.execute(update(ArtisanMessage).where(ArtisanMessage.request_id.in_(made))
                       .values(status="sent", sent_at=ArtisanMessage.created_at))
    db.session.commit()
    return len(made)


def _seed_demo_staff() -> None:
    from .models import RegionalUnit, StaffUser
    from .services.staff import create_user

    if db.session.scalar(select(StaffUser.id).where(StaffUser.email.endswith("@" + DEMO_DOMAIN)).limit(1)):
        return
    now = utcnow()
    units = db.session.scalars(select(RegionalUnit).order_by(RegionalUnit.id)).all()
    for unit_index, unit in enumerate(units):
        for slot, skills in enumerate(DEMO_SKILLS):
            role = "senior" if slot == 0 else "agent"
            email = f"senior.{unit.code}@{DEMO_DOMAIN}" if slot == 0 else f"agent{slot}.{unit.code}@{DEMO_DOMAIN}"
            create_user(email=email, role=role, password=DEMO_PASSWORD, now=now, unit_code=unit.code,
                        name=f"{'Senior' if slot == 0 else 'Agent ' + str(slot)} {unit.code}",
                        phone=f"{DEMO_AGENT_PHONE_PREFIX}{unit_index:02d}{slot:02d}", skills=skills)
    _seed_demo_roster(now)
    create_user(email=f"manager@{DEMO_DOMAIN}", role="manager", password=DEMO_PASSWORD, now=now, name="Manager")
    create_user(email=f"admin@{DEMO_DOMAIN}", role="admin", password=DEMO_PASSWORD, now=now, name="Admin")
    # Demo accounts that need a second factor are enrolled already: `demo-code EMAIL` shows their code.
    import pyotp

    from .domain.roles import NEEDS_SECOND_FACTOR

    for user in db.session.scalars(select(StaffUser).where(StaffUser.email.endswith("@" + DEMO_DOMAIN),
                                                           StaffUser.role.in_(NEEDS_SECOND_FACTOR))):
        user.totp_secret, user.totp_enabled_at = pyotp.random_base32(), now
    db.session.commit()


# The demo's usual week per agent slot (local times, Monday = 0): an early and a late shift, so the
# callback windows follow planned presence even while nobody has logged in yet.
DEMO_SHIFTS = [("09:00", "17:00", range(5)), ("08:00", "16:00", range(6)), ("13:00", "21:00", range(6)),
               ("10:00", "18:00", range(5))]


def _seed_demo_roster(now: datetime) -> None:
    from .domain.actors import Actor
    from .domain.roster import parse_hours
    from .models import StaffUser
    from .services.roster import set_template

    demo = Actor("system", "seed-demo")
    for user in db.session.scalars(select(StaffUser).where(StaffUser.email.endswith("@" + DEMO_DOMAIN),
                                                           StaffUser.role.in_(TAKES_CALLS))).all():
        slot = 0 if user.role == "senior" else int(user.email.split(".", 1)[0].removeprefix("agent"))
        start, end, days = DEMO_SHIFTS[slot % len(DEMO_SHIFTS)]
        set_template(user, {day: parse_hours(start, end) if day in days else None for day in range(7)},
                     actor=demo, now=now)


def _seed_demo_calls(now: datetime) -> int:
    """A few requests already called (resolved, no answer, follow-up) so the history is not empty."""
    from .domain.routing import Availability
    from .models import StaffUser
    from .services.assignment import claim_next, record_outcome, set_availability, start_attempt

    agents = db.session.scalars(select(StaffUser).where(StaffUser.email.like(f"agent1.%@{DEMO_DOMAIN}"))
                                .order_by(StaffUser.id)).all()
    outcomes = ["reached_resolved", "no_answer", "reached_resolved", "voicemail", "reached_follow_up"]
    handled = 0
    for agent, outcome in zip(agents, outcomes, strict=False):
        taken = claim_next(agent, now)
        if taken is None:
            continue
        attempt = start_attempt(taken.id, agent, now)
        follow_up = now + timedelta(hours=3) if outcome == "reached_follow_up" else None
        record_outcome(attempt.id, agent, outcome, now, note="Appel de démonstration", follow_up_at=follow_up)
        handled += 1
    for agent in db.session.scalars(select(StaffUser).where(StaffUser.email.endswith("@" + DEMO_DOMAIN))):
        if agent.availability != Availability.OFFLINE.value:
            set_availability(agent, Availability.OFFLINE, now)
    return handled


@click.command("reconcile")
def reconcile_command() -> None:
    """Enqueue every waiting request whose job Redis lost (safe to run at any time)."""
    from .services.reconcile import reconcile

    try:
        count = reconcile(utcnow())
    except REDIS_ERRORS as exc:
        click.echo(f"Redis is unreachable ({type(exc).__name__}): nothing enqueued.", err=True)
        sys.exit(1)
    click.echo(f"{count} request(s) enqueued.")


def _subject(phone: str | None, email: str | None):
    from .services.data_rights import DataRightsError, Subject

    try:
        return Subject.parse(phone, email)
    except DataRightsError as error:
        raise click.UsageError(_(error.message)) from None


@click.command("export-personal-data")
@click.option("--phone", help="The artisan's phone number, as they give it.")
@click.option("--email", help="Or their e-mail address.")
def export_personal_data_command(phone: str | None, email: str | None) -> None:
    """Everything held about one artisan, as JSON on stdout (RGPD access request); audited."""
    import json

    from .domain.actors import Actor
    from .services import data_rights

    subject = _subject(phone, email)
    found = data_rights.dossier(subject)
    data_rights.record_access(subject, "exported", len(found.requests), Actor("system", "cli"), utcnow())
    click.echo(json.dumps(data_rights.as_json(found, utcnow()), ensure_ascii=False, indent=2))


@click.command("erase-personal-data")
@click.option("--phone", help="The artisan's phone number, as they give it.")
@click.option("--email", help="Or their e-mail address.")
@click.option("--dry-run", is_flag=True, help="Only count the requests that would be erased.")
def erase_personal_data_command(phone: str | None, email: str | None, dry_run: bool) -> None:
    """Erase one artisan's personal data (RGPD erasure request); figures stay, the erasure is audited."""
    from .domain.actors import Actor
    from .services import data_rights

    subject = _subject(phone, email)
    count = data_rights.erase(subject, Actor("system", "cli"), utcnow(), why="erasure request (command line)",
                              dry_run=dry_run)
    click.echo(f"{count} request(s) {'would be' if dry_run else ''} erased.".replace("  ", " "))
