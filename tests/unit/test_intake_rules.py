"""The rules of what an artisan may submit (pure domain, no database)."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chamber_callback.domain.geography import DEFAULT_UNITS, DEPARTEMENTS, departements_for
from chamber_callback.domain.intake import (
    AmbiguousPostalCode,
    IntakeError,
    check_siret,
    check_window,
    mask_phone,
    normalise_phone,
    resolve_postal_code,
    slot_window,
)

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("raw, expected", [
    ("06 12 34 56 78", "+33612345678"),
    ("0612345678", "+33612345678"),
    ("06.12.34.56.78", "+33612345678"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("0033612345678", "+33612345678"),
    ("01 42 68 53 00", "+33142685300"),   # landline
    ("09 70 12 34 56", "+33970123456"),   # box / VoIP
    ("+32 470 12 34 56", "+32470123456"),  # a Belgian mobile is a valid callback number
])
def test_phone_is_normalised_to_e164(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw, departement, expected", [
    ("0690 12 34 56", "971", "+590690123456"),   # Guadeloupe mobile written nationally
    ("0696 12 34 56", "972", "+596696123456"),   # Martinique
    ("0692 12 34 56", "974", "+262692123456"),   # La Réunion
    ("0639 01 23 45", "976", "+262639012345"),   # Mayotte
    ("0690 12 34 56", None, "+590690123456"),    # no postal code yet: overseas regions are still tried
    ("06 12 34 56 78", "974", "+33612345678"),   # metropolitan mobile of an artisan in La Réunion
    ("41 23 45", "975", "+508412345"),            # Saint-Pierre-et-Miquelon: 6-digit national numbers
])
def test_overseas_numbers_are_read_in_their_region(raw, departement, expected):
    assert normalise_phone(raw, departement) == expected


@pytest.mark.parametrize("raw", ["", "123", "06 12 34", "06 12 34 5", "06 12 34 56 78 90", "bonjour", "+33 6 12"])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(IntakeError):
        normalise_phone(raw)


@pytest.mark.parametrize("raw", ["08 99 23 45 67", "3617"])
def test_premium_or_short_numbers_are_refused(raw):
    with pytest.raises(IntakeError):
        normalise_phone(raw)


def test_phone_is_masked_for_display():
    assert mask_phone("+33612345678") == "06 •• •• •• 78"


@pytest.mark.parametrize("raw, expected", [
    ("73282932000074", "73282932000074"),
    ("732 829 320 00074", "73282932000074"),
    ("", None),
    (None, None),
    ("35600000000048", "35600000000048"),   # La Poste head office: plain Luhn
    ("35600000012346", "35600000012346"),   # La Poste establishment: digit sum divisible by 5
])
def test_valid_siret(raw, expected):
    assert check_siret(raw) == expected


@pytest.mark.parametrize("raw", ["73282932000075", "7328293200007", "732829320000745", "7328293200007A"])
def test_invalid_siret_is_refused(raw):
    with pytest.raises(IntakeError):
        check_siret(raw)


@pytest.mark.parametrize("postal_code, departement", [
    ("75011", "75"), ("13008", "13"), ("01000", "01"),
    ("20000", "2A"), ("20090", "2A"), ("20200", "2B"), ("20600", "2B"),   # Corsica
    ("97110", "971"), ("97200", "972"), ("97300", "973"), ("97400", "974"), ("97500", "975"), ("97600", "976"),
    ("57000", "57"), ("67000", "67"), ("68100", "68"),
])
def test_postal_code_resolves_to_departement(postal_code, departement):
    assert resolve_postal_code(postal_code).departement == departement


@pytest.mark.parametrize("raw", ["00000", "99999", "75999", "98000", "20999"])
def test_unknown_postal_code_is_refused(raw):
    with pytest.raises(IntakeError, match="n'existe pas"):
        resolve_postal_code(raw)


@pytest.mark.parametrize("raw", ["7501", "750011", "ABCDE", ""])
def test_malformed_postal_code_is_refused(raw):
    with pytest.raises(IntakeError):
        resolve_postal_code(raw)


def test_postal_code_spanning_two_departements_asks_for_the_commune():
    assert departements_for("05110") == ["04", "05"]
    with pytest.raises(AmbiguousPostalCode) as caught:
        resolve_postal_code("05110")
    assert caught.value.field == "commune"
    names = {c.name for c in caught.value.communes}
    assert {"Claret", "Curbans", "La Saulce"} <= names
    assert resolve_postal_code("05110", "04058").departement == "04"   # Claret
    assert resolve_postal_code("05110", "05162").departement == "05"   # La Saulce


def test_commune_must_belong_to_the_postal_code():
    with pytest.raises(IntakeError) as caught:
        resolve_postal_code("05110", "75056")
    assert caught.value.field == "commune"


def test_every_departement_belongs_to_exactly_one_unit():
    assigned = [dep for _code, _name, deps in DEFAULT_UNITS for dep in deps]
    assert sorted(assigned) == sorted(DEPARTEMENTS)
    assert len(assigned) == len(set(assigned)) == 102
    assert {"2A", "2B", "971", "972", "973", "974", "975", "976"} <= set(assigned)
    assert len(DEFAULT_UNITS) == 5


# Friday 27 November 2026, Paris is UTC+1 in winter.
FRIDAY_10H = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SATURDAY_22H = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize("slot, now, start, end", [
    ("apres_19h", FRIDAY_10H, (2026, 11, 27, 18, 0), (2026, 11, 27, 20, 0)),   # later today
    ("avant_9h", FRIDAY_10H, (2026, 11, 28, 7, 0), (2026, 11, 28, 8, 0)),      # tomorrow (Saturday)
    ("midi", SATURDAY_22H, (2026, 11, 30, 11, 0), (2026, 11, 30, 13, 0)),      # skips Sunday
])
def test_quick_slot_is_the_next_open_occurrence(slot, now, start, end):
    assert slot_window(slot, now, PARIS) == (datetime(*start, tzinfo=UTC), datetime(*end, tzinfo=UTC))


def test_quick_slot_after_dst_change_keeps_local_hours():
    # Saturday 28 March 2026 evening; Monday 30 March is in summer time (UTC+2).
    now = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)
    start, end = slot_window("avant_9h", now, PARIS)
    assert start.astimezone(PARIS).hour == 8 and end.astimezone(PARIS).hour == 9
    assert start == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)


def test_explicit_window_within_opening_hours_is_accepted():
    start = datetime(2026, 11, 28, 8, 0, tzinfo=PARIS)
    end = datetime(2026, 11, 28, 9, 0, tzinfo=PARIS)
    assert check_window(start, end, FRIDAY_10H, PARIS) == (start.astimezone(UTC), end.astimezone(UTC))


@pytest.mark.parametrize("start, end, message", [
    ((2026, 11, 28, 9, 0), (2026, 11, 28, 8, 0), "suivre"),          # reversed
    ((2026, 11, 26, 9, 0), (2026, 11, 26, 10, 0), "passé"),          # in the past
    ((2026, 11, 29, 10, 0), (2026, 11, 29, 11, 0), "lundi au samedi"),  # Sunday
    ((2026, 11, 28, 20, 0), (2026, 11, 28, 22, 0), "lundi au samedi"),  # after closing
    ((2026, 12, 10, 9, 0), (2026, 12, 10, 10, 0), "7 prochains jours"),
])
def test_explicit_window_outside_rules_is_refused(start, end, message):
    with pytest.raises(IntakeError, match=message):
        check_window(datetime(*start, tzinfo=PARIS), datetime(*end, tzinfo=PARIS), FRIDAY_10H, PARIS)
