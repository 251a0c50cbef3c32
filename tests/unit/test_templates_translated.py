"""Every text a template shows goes through gettext: ``{{ _("…") }}`` or ``{% trans %}…{% endtrans %}``.

The templates are read with Jinja's own lexer. What a template writes as literal HTML (its ``data``
tokens, outside ``{% trans %}`` blocks) must hold no words once the tags, HTML comments and the
content of ``<script>`` and ``<style>`` are taken out; and the attributes a person reads or hears
(placeholder, title, aria-label, alt, and the value of an input button) must not be literal text.
"""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "chamber_callback" / "templates", ROOT / "templates"]
TEMPLATES = sorted(path for folder in TEMPLATE_DIRS if folder.is_dir() for path in folder.rglob("*.html"))

# Words that are the same in French and English, so need no catalogue entry. Keep it short.
ALLOWED_WORDS = {
    "CMA",  # chambre de métiers et de l'artisanat: a brand
    "SIRET",  # the French business register number: a proper name
    "SMS",
    "API",
    "CSV",
    "RGPD",  # the name of the law, as the chamber's notices cite it
    "CNIL",  # the French data protection authority: a proper name
}
# Attributes whose value is read (placeholder, tooltip) or spoken (aria-label, alt).
READ_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "aria-description", "aria-roledescription",
                   "aria-valuetext")

# Where Jinja put an expression or a statement: counts as no text.
MARK = "\x00"
WORD = re.compile(r"[^\W\d_]{2,}")
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# Not text to translate: scripts and styles, and <code> (a snippet to copy, a key, a token).
SCRIPT_STYLE_CODE = re.compile(r"<(script|style|code)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
TAG = re.compile(r"<[^>]*>", re.DOTALL)
ATTRIBUTE = re.compile(r"""\s([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")
INPUT_BUTTON = re.compile(r"""\btype\s*=\s*["']?(submit|button|reset)\b""", re.IGNORECASE)


def skeleton(source: str, name: str) -> list[tuple[int, str]]:
    """The template's literal HTML outside {% trans %} blocks, each part with its line number; an
    expression or a tag becomes MARK, so ``value="{{ x }}"`` reads ``value="\\x00"``."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    parts: list[tuple[int, str]] = []
    in_trans = False
    in_block = False
    block_words: list[str] = []
    for lineno, kind, value in env.lex(source, name):
        if kind in ("comment_begin", "comment", "comment_end", "linecomment_begin", "linecomment",
                    "linecomment_end"):
            continue
        if kind == "block_begin":
            in_block, block_words = True, []
            continue
        if in_block:
            if kind == "name" and not block_words:
                block_words.append(value)
                if value == "trans":
                    in_trans = True
                elif value == "endtrans":
                    in_trans = False
            if kind == "block_end":
                in_block = False
                parts.append((lineno, MARK))
            continue
        if kind == "data":
            parts.append((lineno, MARK if in_trans else value))
        elif kind in ("variable_end", "raw_begin", "raw_end"):
            parts.append((lineno, MARK))
    return parts


def words(text: str) -> list[str]:
    text = ENTITY.sub(" ", text.replace(MARK, " "))
    return [word for word in WORD.findall(text) if word not in ALLOWED_WORDS]


def problems(path: Path) -> list[str]:
    parts = skeleton(path.read_text(encoding="utf-8"), path.name)
    # One string with a line map, so a tag spread over several tokens is still one tag.
    html, starts = "", []
    for lineno, text in parts:
        starts.append((len(html), lineno))
        html += text

    def line_of(offset: int) -> int:
        begin, line = 0, 1
        for start, lineno in starts:
            if start > offset:
                break
            begin, line = start, lineno
        return line + html.count("\n", begin, offset)

    def blank(match: re.Match) -> str:  # same length, so offsets still give line numbers
        return MARK * len(match.group(0))

    def check_attributes(body: str, start: int, is_input_button: bool = False) -> None:
        for attr in ATTRIBUTE.finditer(body):
            name = attr.group(1).lower()
            value = next(v for v in attr.groups()[1:] if v is not None)
            if (name in READ_ATTRIBUTES or (name == "value" and is_input_button)) and words(value):
                found.append(f"{path.name}:{line_of(start)}: {name}={value!r}")

    found = []
    blanked = SCRIPT_STYLE_CODE.sub(blank, COMMENT.sub(blank, html))
    for tag in TAG.finditer(blanked):
        body = tag.group(0)
        check_attributes(body, tag.start(), body[1:6].lower() == "input" and bool(INPUT_BUTTON.search(body)))
    text = TAG.sub(blank, blanked)
    # Attributes written outside a tag, as in {% block body_attrs %} class="staff"{% endblock %}.
    for attr in ATTRIBUTE.finditer(text):
        check_attributes(attr.group(0), attr.start())
    text = ATTRIBUTE.sub(blank, text)
    for match in re.finditer(r"[^\x00]+", text):
        if words(match.group(0)):
            found.append(f"{path.name}:{line_of(match.start())}: {' '.join(match.group(0).split())!r}")
    return found


def shown_literals(path: Path) -> list[str]:
    """String literals a ``{{ … }}`` shows as they are: ``{{ "Bonjour" }}``, ``… else "Bonjour"``,
    ``… or "Bonjour"``, ``… ~ "Bonjour"`` (a literal given to a function or a test is not checked)."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    found, in_variable, previous, html, shown = [], False, None, "", True
    for lineno, kind, value in env.lex(path.read_text(encoding="utf-8"), path.name):
        if kind == "whitespace":
            continue
        if kind == "data":
            html += value
        elif kind == "variable_begin":
            in_variable = True
            # Inside a tag, only the attributes people read count (not class="{{ 'on' if … }}").
            inside_tag = html.rfind("<") > html.rfind(">")
            attribute = re.search(r"([-\w:]+)\s*=\s*[\"']?[^\"'<>]*$", html) if inside_tag else None
            shown = not inside_tag or bool(attribute and attribute.group(1).lower() in READ_ATTRIBUTES)
        elif kind == "variable_end":
            in_variable = False
        elif (in_variable and shown and kind == "string" and previous in ("variable_begin", "else", "or", "~")
              and words(value[1:-1])):
            found.append(f"{path.name}:{lineno}: {value}")
        previous = value if kind in ("name", "operator") else kind
    return found


def test_there_are_templates():
    assert len(TEMPLATES) > 40


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_text_goes_through_gettext(path):
    assert problems(path) + shown_literals(path) == []


def test_the_guard_sees_untranslated_text(tmp_path):
    sample = tmp_path / "sample.html"
    sample.write_text('<p>Bonjour {{ name }}</p><p>{{ _("Merci") }}</p>{% trans %}Au revoir{% endtrans %}'
                      '<input placeholder="Nom"><img alt="{{ _(\'Logo\') }}"><input type="submit" value="Envoyer">'
                      '<button value="hours">{{ _("Ces horaires") }}</button>\n'
                      '<script>var a = "texte";</script><!-- un commentaire --><p>SIRET · 12 ×</p>{# note #}\n'
                      '{% block attrs %} class="staff wide" title="Aide"{% endblock %}<code>&lt;div&gt;</code>\n'
                      '<td{% if x %} class="muted"{% endif %}>{{ x or "Aucun" }}{{ url_for("staff.console") }}</td>'
                      '<li class="{{ \'tile-at-risk\' if n }}" title="{{ \'Détail\' if n }}"></li>')
    assert problems(sample) == ["sample.html:1: placeholder='Nom'", "sample.html:1: value='Envoyer'",
                                "sample.html:3: title='Aide'", "sample.html:1: 'Bonjour'"]
    assert shown_literals(sample) == ['sample.html:4: "Aucun"', "sample.html:4: 'Détail'"]
