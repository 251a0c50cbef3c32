"""The keyword of an artisan's text message, and the replies' texts (GSM-7, one segment)."""
import pytest

from chamber_callback.domain import messages
from chamber_callback.domain.sms_replies import fold, keyword_of


@pytest.mark.parametrize("text", ["annuler", "Annuler", "ANNULER", "Annulé", "annulée", "  annuler !",
                                  "ANNULER K7MA-4XPT", "annuler k7ma4xpt svp", "Annulez", "annulation",
                                  "ÀNNULER", "annuler\nmerci"])
def test_cancel_in_any_case_with_or_without_accents_or_reference(text):
    assert keyword_of(text) == "cancel"


@pytest.mark.parametrize("text", ["stop", "Stop.", "STOP", "STOP SMS", "stop merci", "Arrêt", "ARRÊT", "arret",
                                  "Arrêter", "arrêtez", "désabonner", "Désinscription", "STOPALL", "unsubscribe",
                                  "Cancel", "END", "quit"])
def test_stop_and_its_french_synonyms_and_twilio_opt_out_words(text):
    assert keyword_of(text) == "stop"


@pytest.mark.parametrize("text", ["", None, "   ", "Bonjour", "je veux annuler", "merci, stop",
                                  "aide", "K7MA-4XPT", "annul", "stopper", "?", "😀"])
def test_anything_else_is_help(text):
    assert keyword_of(text) == "help"


def test_fold_removes_accents_and_case():
    assert fold("ARRÊT Annulé Désinscription") == "arret annule desinscription"


def test_reply_texts_fit_one_gsm7_segment():
    for text in (messages.sms_reply_cancelled("K7MA-4XPT"), messages.sms_reply_not_cancellable(),
                 messages.sms_reply_nothing_to_cancel(), messages.sms_reply_stopped(),
                 messages.sms_reply_help("+33 9 70 00 00 00")):
        assert messages.is_gsm7(text) and messages.sms_segments(text) == 1, text


def test_help_names_the_keywords_and_the_chamber_phone():
    text = messages.sms_reply_help("09 70 00 00 00")
    assert "ANNULER" in text and "STOP" in text and "09 70 00 00 00" in text
