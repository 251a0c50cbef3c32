"""``flask campaign-import``: a campaign's contacts from a CSV file, with the same report as the
screen (counts, then the bad lines by line number)."""
from __future__ import annotations

from pathlib import Path

import click
from flask_babel import gettext as _

from .clock import utcnow
from .domain import contacts_import as reading
from .domain.campaigns import CampaignError


def print_report(report: dict) -> None:
    click.echo(_("%(rows)s lignes lues : %(added)s contacts ajoutés, %(already)s déjà dans la campagne, "
                 "%(merged)s doublons dans le fichier, %(request)s déjà en demande de rappel, "
                 "%(opted)s ne veulent plus être appelés, %(errors)s lignes en erreur.",
                 rows=report.get("rows", 0), added=report.get("added", 0),
                 already=report.get("already_in_campaign", 0), merged=report.get("merged_in_file", 0),
                 request=report.get("merged_with_request", 0), opted=report.get("opted_out", 0),
                 errors=report.get("errors", 0)))
    for error in report.get("errors_shown", []):
        click.echo(_("ligne %(line)s : %(field)s : %(message)s", line=error["line"],
                     field=_(reading.FIELDS.get(error["field"], error["field"])), message=_(error["message"])))


@click.command("campaign-import")
@click.option("--campaign", "name", required=True, help="The campaign's name (created when none has it).")
@click.option("--unit", "units", multiple=True, help="Unit codes covered by a new campaign (default: every unit).")
@click.option("--topic", default="autre", show_default=True, help="Topic code of a new campaign.")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), help="First day of a new campaign.")
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day of a new campaign.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def campaign_import_command(name, units, topic, start, end, path: Path):
    """Import a campaign's contacts from a CSV file (UTF-8 or Windows-1252, ; or , separated)."""
    from .services import campaign_import

    now = utcnow()
    data = path.read_bytes()
    try:
        table = reading.read_table(data)
    except reading.FileError as error:
        raise click.ClickException(_(error.message, **error.params)) from None
    mapping = reading.guess_mapping(table.header)
    problems = reading.mapping_problems(mapping, table.header)
    if problems:
        raise click.ClickException(_("Colonnes introuvables (%(problems)s). Colonnes du fichier : %(found)s.",
                                     problems=" ".join(problems), found=", ".join(table.header)))
    try:
        campaign, created = campaign_import.ensure_campaign(
            name, unit_codes=list(units), topic_code=topic, starts_on=start.date() if start else None,
            ends_on=end.date() if end else None, now=now,
            purpose=_("Campagne importée depuis %(file)s", file=path.name))
    except CampaignError as error:
        raise click.ClickException("; ".join(_(message) for message in error.errors.values())) from None
    if created:
        click.echo(_("Campagne « %(name)s » créée.", name=campaign.name))
    record = campaign_import.run(campaign_import.start_record(campaign, data, path.name, mapping, None, now).id,
                                 data, mapping, now)
    if record.status != "done":
        raise click.ClickException((record.report or {}).get("failure", "import failed"))
    print_report(record.report)


