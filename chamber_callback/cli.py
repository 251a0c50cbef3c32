"""Flask commands: ``flask --app chamber_callback <command>``."""
from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from .domain.geography import communes_for
from .domain.intake import DEFAULT_TOPICS, URGENCY_REASONS, Intake
from .extensions import db
from .models import CallbackRequest
from .queues import REDIS_ERRORS

# Numbers of the range ARCEP reserves for fiction (06 39 98 xx xx): never a real artisan.
DEMO_PHONE_PREFIX = "+3363998"

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


def register_cli(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(reconcile_command)


@click.command("seed-demo")
@click.option("--count", default=30, show_default=True, help="Demo requests to create.")
def seed_demo(count: int) -> None:
    """Fill an empty installation with demo requests (fictional numbers 06 39 98 …)."""
    from .services.audit import Actor
    from .services.intake import cancel_request, submit_request

    existing = db.session.scalar(
        select(func.count()).select_from(CallbackRequest).where(CallbackRequest.phone.startswith(DEMO_PHONE_PREFIX))
    )
    if existing:
        click.echo(f"Demo data already present ({existing} requests): nothing to do.")
        return
    rng = random.Random(42)
    now = datetime.now(timezone.utc)
    sla_hours = current_app.config["SLA_HOURS"]
    demo = Actor("system", "seed-demo")
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
    click.echo(f"Demo data: {created} requests created ({cancelled} cancelled).")


@click.command("reconcile")
def reconcile_command() -> None:
    """Enqueue every waiting request whose job Redis lost (safe to run at any time)."""
    from .services.reconcile import reconcile

    try:
        count = reconcile(datetime.now(timezone.utc))
    except REDIS_ERRORS as exc:
        click.echo(f"Redis is unreachable ({type(exc).__name__}): nothing enqueued.", err=True)
        sys.exit(1)
    click.echo(f"{count} request(s) enqueued.")
