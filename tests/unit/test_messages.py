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


def test_every_language_writes_the_artisans_texts_in_gsm7_and_no_longer_than_french():
    """A translation keeps the texts sent to artisans in the GSM-7 alphabet and in as many SMS as French."""
    from datetime import timedelta

    from flask_babel import force_locale

    from chamber_callback import available_languages
    from tests.conftest import make_app

    url = "https://rappel.cma-exemple.fr/suivi/" + "x" * 43

    def texts() -> list[str]:
        window = messages.window_words(WHEN + timedelta(days=1), WHEN + timedelta(days=1, hours=2), WHEN, PARIS)
        return [messages.confirmation("K7MA-4XPT", WHEN, url, PARIS),
                messages.confirmation_with_window("K7MA-4XPT", window, url),
                messages.unreachable("K7MA-4XPT", "https://rappel.cma-exemple.fr", "09 70 00 00 00"),
                messages.reminder("K7MA-4XPT", url), messages.follow_up("K7MA-4XPT", WHEN, PARIS),
                messages.delay("K7MA-4XPT", window), messages.sms_reply_cancelled("K7MA-4XPT"),
                messages.sms_reply_not_cancellable(), messages.sms_reply_nothing_to_cancel(),
                messages.sms_reply_stopped(), messages.sms_reply_help("09 70 00 00 00")]

    with make_app().app_context():
        with force_locale("fr"):
            french = texts()
        for language in available_languages():
            with force_locale(language):
                for text, original in zip(texts(), french, strict=True):
                    assert messages.is_gsm7(text), (language, text)
                    assert messages.sms_segments(text) <= messages.sms_segments(original), (language, text)
