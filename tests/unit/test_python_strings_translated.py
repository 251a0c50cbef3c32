"""Every user-visible French text of the Python code goes through gettext, so that it is extracted
(``pybabel extract -F babel.cfg -k _l -k N_``) and can be translated.

An AST scan of ``chamber_callback/**/*.py``: a string literal that looks like French prose (an
accented letter or a common French word, and a space) must sit inside a gettext call (``_``,
``_l``, ``N_``, ``gettext``, ``lazy_gettext``, ``ngettext``, ``pgettext``…). Not scanned: docstrings,
log messages (``log.info(…)``, ``logger.warning(…)``…) and the few constants and functions listed
in ``EXEMPT``, each with the reason it is data rather than text. Also refused: an f-string,
``.format`` or ``%`` inside the gettext call (the translation would never be found).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "chamber_callback"

FRENCH = re.compile(
    r"[àâçéèêëîïôûùœÀÂÇÉÈÊÎÔ«»]|\b[cdjlmnqs]'\w"
    r"|\b(et|ou|de|du|des|le|la|les|un|une|au|aux|ce|cet|cette|ces|il|elle|nous|vous|votre|vos|notre|nos|"
    r"sont|pas|ne|plus|pour|par|avec|sans|sur|dans|aucun|aucune|possibles|inconnue?|voir|vaut|sujet|"
    r"demande|appel|rappel|choisissez|indiquez|tapez|merci|bonjour)\b",
    re.IGNORECASE,
)
GETTEXT = {"_", "_l", "N_", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext",
           "lazy_pgettext", "npgettext"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}

# (file relative to chamber_callback/, enclosing constant, function or class name): why it is data.
EXEMPT: dict[tuple[str, str], str] = {
    # The GSM 03.38 charset: a set of characters, not a text.
    ("domain/messages.py", "GSM7"): "character set",
    # Names of the départements (proper nouns, the official list) and the seed regional units, which
    # are stored and renamed by administrators.
    ("domain/geography.py", "DEPARTEMENTS"): "proper nouns",
    ("domain/geography.py", "DEFAULT_UNITS"): "stored seed data",
    # Seed labels of the topics: stored in the database and edited there by administrators.
    ("domain/intake.py", "DEFAULT_TOPICS"): "stored seed data",
    # Notes the system writes on a call attempt (stored, the call's history); the prefix also tells
    # an automatic outcome from an agent's, so it must not change with the reader's language.
    ("domain/attempts.py", "AUTOMATIC_NOTE_PREFIX"): "stored, and matched",
    ("services/calls.py", "ATTEMPT_NOTES"): "stored notes",
    ("services/assignment/attempts.py", "CORRECTION_NOTE"): "stored note",
    # What a request made on the phone line stores for the fields the caller is not asked.
    ("services/phone_line.py", "PHONE_REQUEST_FIELDS"): "stored field values",
    # The description of a request made from a campaign's contact (stored).
    ("services/campaigns.py", "_description"): "stored field value",
    # Demo data ``flask seed-demo`` writes into the database (fake artisans, their questions, notes).
    ("cli.py", "DEMO_PEOPLE"): "stored demo data",
    ("cli.py", "DEMO_QUESTIONS"): "stored demo data",
    ("cli.py", "_seed_demo_calls"): "stored demo data",
    # Configuration defaults (the chamber's name, its opening hours): settings a chamber writes in
    # its own words.
    ("config.py", "load_config"): "settings",
    # The OpenAPI document of the partner API: English, for developers (« départements » is a name).
    ("api/openapi.py", "openapi_document"): "API documentation (English)",
    # Babel date patterns per language (French, English): formats, chosen by the reader's language.
    ("formatting.py", "DATETIME_FORMATS"): "date patterns",
}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_log_call(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in LOG_METHODS:
        return False
    receiver = func.value
    return (isinstance(receiver, ast.Name) and receiver.id in {"log", "logger", "logging"}) or (
        isinstance(receiver, ast.Attribute) and receiver.attr == "logger")


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _scope_names(node: ast.AST) -> list[str]:
    names = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.append(node.name)
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Name):
                    names.append(part.id)
    return names


def _looks_french(text: str) -> bool:
    return " " in text.strip() and bool(FRENCH.search(text))


def scan(relative: str, source: str) -> list[str]:
    """The problems of one module (``relative``: its path under chamber_callback/), as file:line: text."""
    tree = ast.parse(source)
    ignored = _docstrings(tree)  # ids of literals that need no translation, or have it
    problems: list[str] = []

    def visit(node: ast.AST, scopes: tuple[str, ...], skipped: bool) -> None:
        scopes = scopes + tuple(_scope_names(node))
        if any((relative, scope) in EXEMPT for scope in scopes):
            return
        if isinstance(node, ast.Call):
            if _name(node.func) in GETTEXT:
                # Only the literal messages themselves are extracted: ``_(LABELS.get(k, "défaut"))`` is not.
                for message in node.args[:2]:
                    if isinstance(message, ast.Constant):
                        ignored.add(id(message))
                    elif isinstance(message, ast.JoinedStr) or (
                            isinstance(message, ast.BinOp) and isinstance(message.op, (ast.Mod, ast.Add))) or (
                            isinstance(message, ast.Call) and _name(message.func) == "format"):
                        problems.append(f"{relative}:{node.lineno}: the message of {_name(node.func)}() is "
                                        "built before translation: use named placeholders")
                        ignored.update(id(part) for part in ast.walk(message))
            elif _is_log_call(node):
                skipped = True
        filled = node.left if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) else (
            node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format" else None)
        if isinstance(filled, ast.Call) and _name(filled.func) in {"N_", "_l", "lazy_gettext"}:
            problems.append(f"{relative}:{node.lineno}: a marked message is filled in before it is translated: "
                            "pass its values to gettext instead")
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
            if not skipped and id(node) not in ignored and _looks_french(text):
                problems.append(f"{relative}:{node.lineno}: f-string {text[:70]!r}")
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if not skipped and id(node) not in ignored and _looks_french(node.value):
                problems.append(f"{relative}:{node.lineno}: {node.value[:70]!r}")
            return
        for child in ast.iter_child_nodes(node):
            visit(child, scopes, skipped)

    visit(tree, (), False)
    return problems


def scan_package() -> list[str]:
    return [problem for path in sorted(PACKAGE.rglob("*.py"))
            for problem in scan(path.relative_to(PACKAGE).as_posix(), path.read_text(encoding="utf-8"))]


def test_the_scanner_sees_untranslated_french_and_accepts_translated_text():
    source = (
        '"""Un module de démonstration."""\n'
        'from flask_babel import gettext as _\n'
        'OK = _("Votre demande est enregistrée")\n'
        'BAD = "Votre demande est enregistrée"\n'
        'def f(ref):\n'
        '    log.info("demande %s enregistrée", ref)\n'
        '    return f"Demande {ref} annulée"\n'
        'def g(ref):\n'
        '    return _(f"Demande {ref} annulée")\n'
        'CODES = ("web", "api", "phone")\n'
        'LATER = N_("Demande %(ref)s annulée") % {"ref": "X"}\n'
        'AGAIN = N_("Demande {ref} annulée").format(ref="X")\n'
    )
    problems = scan("sample.py", source)
    assert [p.split(":")[1] for p in problems] == ["4", "7", "9", "11", "12"], problems


def test_user_visible_french_in_python_goes_through_gettext():
    problems = scan_package()
    assert not problems, "French text outside gettext (wrap it in _()/_l(), or exempt it with a reason):\n" + \
        "\n".join(problems)


def test_exemptions_still_name_something():
    """An exemption whose constant or function disappeared is removed, not left to cover a new one."""
    stale = []
    for relative, name in EXEMPT:
        tree = ast.parse((PACKAGE / relative).read_text(encoding="utf-8"))
        if not any(name in _scope_names(node) for node in ast.walk(tree)):
            stale.append(f"{relative}: {name}")
    assert not stale, stale
