"""Property tests: whatever a stressed person (or a bot) types, the validators answer with a
clear refusal or a clean value, never a crash, and a clean value stays clean."""
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from chamber_callback.domain.geography import _postal_table, communes_for
from chamber_callback.domain.intake import (
    AmbiguousPostalCode,
    IntakeError,
    check_siret,
    normalise_phone,
    one_line,
    resolve_postal_code,
)

typed = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
digits_and_signs = st.text(alphabet=string.digits + " .-+()/", max_size=25)


@settings(max_examples=400)
@given(raw=st.one_of(typed, digits_and_signs), departement=st.sampled_from([None, "75", "971", "974", "2A"]))
def test_a_phone_is_refused_or_normalised_to_e164(raw, departement):
    try:
        phone = normalise_phone(raw, departement)
    except IntakeError as error:
        assert error.message
        return
    assert phone.startswith("+") and phone[1:].isdigit() and 8 <= len(phone) <= 16
    assert normalise_phone(phone, departement) == phone  # normalising twice changes nothing


@given(number=st.integers(min_value=0, max_value=10**8 - 1), prefix=st.sampled_from(["06", "07", "01", "09"]))
def test_french_numbers_written_any_way_are_the_same_number(number, prefix):
    national = f"{prefix}{number:08d}"
    spaced = " ".join(national[i:i + 2] for i in range(0, 10, 2))
    dotted = spaced.replace(" ", ".")
    answers = set()
    for written in (national, spaced, dotted, "+33" + national[1:], "0033" + national[1:]):
        try:
            answers.add(normalise_phone(written))
        except IntakeError:
            answers.add("refused")  # an unallocated range: refused however it is written
    assert len(answers) == 1


def _luhn_complete(body: str) -> str:
    """``body`` (13 digits) with the digit that makes it Luhn-valid."""
    for last in string.digits:
        candidate = body + last
        total = sum(int(d) if i % 2 == 0 else sum(divmod(int(d) * 2, 10)) for i, d in enumerate(reversed(candidate)))
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


@settings(max_examples=300)
@given(raw=st.one_of(typed, st.text(alphabet=string.digits + " ", max_size=20)))
def test_a_siret_is_refused_or_fourteen_luhn_digits(raw):
    try:
        siret = check_siret(raw)
    except IntakeError as error:
        assert error.message
        return
    assert siret is None or (len(siret) == 14 and siret.isdigit() and check_siret(siret) == siret)


@given(body=st.text(alphabet=string.digits, min_size=13, max_size=13))
def test_every_luhn_valid_siret_is_accepted_with_spaces(body):
    siret = _luhn_complete(body)
    spaced = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    assert check_siret(spaced) == siret


@settings(max_examples=300)
@given(raw=st.one_of(typed, st.text(alphabet=string.digits + " ", max_size=8)))
def test_a_postal_code_is_refused_asked_about_or_resolved(raw):
    try:
        commune = resolve_postal_code(raw)
    except AmbiguousPostalCode as error:
        assert len({c.departement for c in communes_for("".join(raw.split()))}) > 1 and error.message
        return
    except IntakeError as error:
        assert error.message
        return
    assert commune.departement and communes_for("".join(raw.split()))


@given(code=st.sampled_from(sorted(_postal_table())))
def test_every_postal_code_of_la_postes_table_is_known(code):
    try:
        commune = resolve_postal_code(code)
    except AmbiguousPostalCode:
        return  # spans two départements: the form asks for the commune
    assert commune in communes_for(code) or commune.departement in {c.departement for c in communes_for(code)}


@given(raw=typed)
def test_one_line_leaves_one_printable_line(raw):
    cleaned = one_line(raw)
    assert "\n" not in cleaned and cleaned == cleaned.strip() and all(ch.isprintable() for ch in cleaned)
    assert one_line(cleaned) == cleaned
