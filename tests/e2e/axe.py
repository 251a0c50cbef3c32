"""axe-core in the browser tests: the npm package (package.json, `make install-test`), loaded from
node_modules into the page, never fetched at run time."""
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

_RUN = """() => axe.run(document, {resultTypes: ['violations']}).then(result => result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(node => node.target.join(' '))})))"""


def require_axe() -> None:
    if not AXE_JS.exists():
        pytest.skip(f"axe-core is not installed ({AXE_JS} is missing): run `npm install` or `make install-test`")


def axe_violations(page) -> list[dict]:
    """axe's violations on the page as it is now (the context needs bypass_csp: the script is inline)."""
    require_axe()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(_RUN)


class Audit:
    """Collects each page's violations; ``assert_clean()`` fails once, listing every page, rule and
    target at or above ``BLOCKING`` (the lesser ones are in ``minor`` for the tests that forbid them too)."""

    def __init__(self) -> None:
        self.found: dict[str, list[dict]] = {}

    def check(self, page, name: str) -> list[dict]:
        page.wait_for_load_state()
        violations = axe_violations(page)
        self.found[name] = violations
        return violations

    def lines(self, impacts=BLOCKING) -> list[str]:
        return [f"{name}: {v['id']} ({v['impact']}) {v['help']} -> {', '.join(v['targets'])}"
                for name, violations in self.found.items() for v in violations if v["impact"] in impacts]

    def assert_clean(self, impacts=BLOCKING) -> None:
        problems = self.lines(impacts)
        assert not problems, "axe found accessibility violations:\n" + "\n".join(problems)
