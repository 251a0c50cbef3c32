"""Escalation levels shown on the settings page are the text an admin typed, read back the same."""
import pytest

from chamber_callback.domain.escalation import DEFAULT_LEVELS_SPEC, parse_levels
from chamber_callback.services.settings import format_levels


@pytest.mark.parametrize("spec", [DEFAULT_LEVELS_SPEC, "early@12.5:senior; late@90:top,manager,overflow",
                                  "only@100"])
def test_levels_round_trip(spec):
    assert format_levels(parse_levels(spec)) == spec
    assert parse_levels(format_levels(parse_levels(spec))) == parse_levels(spec)
