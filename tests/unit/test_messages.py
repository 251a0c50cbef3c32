"""Texts to artisans fit one GSM-7 SMS."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from chamber_callback.domain import messages

PARIS = ZoneInfo("Europe/Paris")
WHEN = datetime(2026, 11, 28, 13, 5, tzinfo=UTC)


def test_confirmation_is_one_gsm7_segment_with_reference_deadline_and_link():
    url = "https://rappel.cma-exemple.fr/suivi/" + "x" * 43
    text = messages.confirmation("K7MA-4XPT", WHEN, url, PARIS)
    assert "K7MA-4XPT" in text and "28/11 à 14h05" in text and url in text
    assert messages.is_gsm7(text) and messages.sms_segments(text) == 1


def test_unreachable_and_follow_up_texts_are_gsm7():
    for text in (messages.unreachable("K7MA-4XPT", "https://rappel.cma-exemple.fr", "09 70 00 00 00"),
                 messages.follow_up("K7MA-4XPT", WHEN, PARIS),
                 messages.reminder("K7MA-4XPT", "https://rappel.cma-exemple.fr/suivi/" + "x" * 43)):
        assert messages.is_gsm7(text) and messages.sms_segments(text) == 1


def test_segment_counting():
    assert messages.sms_segments("a" * 160) == 1 and messages.sms_segments("a" * 161) == 2
    assert not messages.is_gsm7("reçue") and messages.sms_segments("ç" * 71) == 2  # UCS-2
