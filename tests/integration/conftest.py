"""Fixtures shared by the integration tests."""
from tests.integration.twilio_fakes import twilio_app  # noqa: F401  (fixture)
