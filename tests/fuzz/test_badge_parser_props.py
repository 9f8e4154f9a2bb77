"""Property tests of the booth's badge/vCard parser (pwa/js/badge.js) run under node.

Hypothesis makes a batch of texts per example; one node process parses the batch (JSON
lines in, JSON lines out). Whatever the text: no exception (not even one the parser
catches itself), the raw input is returned exactly, and the fields are known names with
trimmed, non-empty string values.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BADGE_JS = Path(__file__).resolve().parents[2] / "pwa" / "js" / "badge.js"
NODE = shutil.which("node")
FIELDS = {"first_name", "last_name", "company", "job_title", "email", "phone",
          "city", "country", "postal_code", "notes"}  # fmt: skip
KINDS = {"vcard", "mecard", "bizcard", "url", "text", "empty"}

RUNNER = f"""
import {{ parseBadge }} from {json.dumps(BADGE_JS.as_uri())};
import {{ createInterface }} from 'node:readline';
const lines = createInterface({{ input: process.stdin, crlfDelay: Infinity }});
for await (const line of lines) {{
  let out;
  try {{ out = {{ ok: true, result: parseBadge(JSON.parse(line)) }}; }}
  catch (err) {{ out = {{ ok: false, error: String(err && err.stack || err) }}; }}
  process.stdout.write(JSON.stringify(out) + '\\n');
}}
"""

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def parse_batch(texts: list[str]) -> list[dict]:
    """Parse every text in one node process; returns one answer per text, in order."""
    stdin = "".join(json.dumps(t) + "\n" for t in texts)
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", RUNNER],
        input=stdin, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    # Split on "\n" only: JSON.stringify leaves U+2028 and friends unescaped.
    answers = [json.loads(line) for line in done.stdout.split("\n") if line]
    assert len(answers) == len(texts)
    return answers


FRAGMENTS = [
    "BEGIN:VCARD", "END:VCARD", "VERSION:3.0", "VERSION:2.1", "N:", "FN:", "ORG:", "TITLE:",
    "EMAIL;TYPE=work:", "TEL;WORK;VOICE:", "TEL:", "ADR;TYPE=work:", "NOTE:", "item1.EMAIL:",
    ";", ":", ",", "\\", "\\;", "\\n", "=", "=C3=A9", "=\n", "=ZZ", "ENCODING=QUOTED-PRINTABLE",
    "CHARSET=UTF-8", "\r\n", "\n", "\n ", "\t", "MECARD:", "BIZCARD:", "N:", "X:", "E:", "B:",
    "TEL:", "EMAIL:", ";;", "https://", "http://x.example/?name=", "&email=", "mailto:",
    "tel:", "+7 916 123-45-67", "anna@example.com", "Анна Иванова", "Müller", "\ufeff",
    "Name: ", "Company: ", "E-mail: ", "|", "😀", "\u0000", "\u200b", "0049 (30) 1234567",
]  # fmt: skip
structured = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=40).map(
    "".join
)
badge_text = st.one_of(st.text(max_size=300), structured)


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(st.lists(badge_text, min_size=1, max_size=150))
def test_the_badge_parser_never_throws_and_keeps_the_raw_text(texts):
    for text, answer in zip(texts, parse_batch(texts), strict=True):
        assert answer["ok"], (text, answer["error"])
        result = answer["result"]
        assert "error" not in result, (text, result["error"])  # an exception it swallowed
        assert result["raw"] == text
        assert result["kind"] in KINDS
        assert set(result["fields"]) <= FIELDS, (text, result["fields"])
        for name, value in result["fields"].items():
            assert isinstance(value, str) and value and value == value.strip(), (text, name)


def test_known_cards_still_parse():
    vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Petrova;Olga\r\nORG:Uralmash\r\nEMAIL:o@ex.com\r\nEND:VCARD"
    [answer] = parse_batch([vcard])
    assert answer["result"]["fields"] == {
        "first_name": "Olga", "last_name": "Petrova", "company": "Uralmash", "email": "o@ex.com",
    }  # fmt: skip
