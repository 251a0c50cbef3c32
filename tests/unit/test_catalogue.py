"""The English catalogue covers every translatable string of the code and templates, its placeholders
match the French ones, and the compiled catalogue the app loads is the current one (`make translations`)."""
from pathlib import Path

import pytest
from babel.messages import mofile, pofile
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "chamber_callback" / "translations"
LOCALES = ("en",)
# The same keywords as `make translations` (pybabel extract -k _l -k lazy_gettext -k lazy_ngettext:1,2).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalogue(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return pofile.read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_translated(extracted, locale):
    translated = {message.id if isinstance(message.id, str) else message.id[0]: message
                  for message in catalogue(locale) if message.id}
    missing = sorted(extracted - translated.keys())
    assert not missing, f"{len(missing)} strings not in the {locale} catalogue (make translations): {missing[:20]}"
    empty = sorted(key for key in extracted if not all(translated[key].string if isinstance(
        translated[key].string, tuple) else [translated[key].string]) or translated[key].fuzzy)
    assert not empty, f"{len(empty)} strings untranslated or fuzzy in {locale}: {empty[:20]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match(locale):
    problems = [(message.id, [str(error) for error in errors]) for message, errors in catalogue(locale).check()]
    assert not problems, problems[:10]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_is_current(locale):
    def plain(value):  # a plural's ids and strings come as a list from the .mo, a tuple from the .po
        return tuple(value) if isinstance(value, list | tuple) else value

    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = {plain(message.id): plain(message.string) for message in mofile.read_mo(handle) if message.id}
    source = {plain(message.id): plain(message.string) for message in catalogue(locale)
              if message.id and message.string and not message.fuzzy}
    assert compiled == source, "run `make translations` to compile the catalogue"
