"""axe-core (npm, vendored for the tests only, tests/vendor/axe-core) run in the page."""

from __future__ import annotations

from pathlib import Path

AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js").read_text(
    encoding="utf-8"
)


def serious_violations(page, context: str = "document") -> list[str]:
    """Serious and critical axe violations on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE + "\n;0")  # DevTools evaluation: the page's CSP does not apply
    results = page.evaluate(
        """async (context) => {
            const root = context === 'document' ? document : document.querySelector(context);
            const r = await axe.run(root, { resultTypes: ['violations'] });
            return r.violations
              .filter((v) => v.impact === 'serious' || v.impact === 'critical')
              .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
        }""",
        context,
    )
    return results
