"""docs/security.md names the tests behind each guarantee: every one it names must exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def named_tests(text: str) -> list[tuple[str, str]]:
    """(file, test) for every `file.py::test_x` and each bare `test_y` after it in the same table cell."""
    found = []
    for line in text.splitlines():
        for cell in line.split("|"):
            current = None
            for token in re.findall(r"`([^`]+)`", cell):
                if "::" in token:
                    current, token = token.split("::", 1)
                if token.startswith("test_") and not token.endswith(".py") and current:
                    found.append((current, token))
    return found


def test_every_test_the_security_page_names_exists():
    names = named_tests((ROOT / "docs" / "security.md").read_text())
    assert len(names) >= 25
    missing = [f"{file}::{test}" for file, test in names
               if not re.search(rf"^def {test}\(", (ROOT / "tests" / file).read_text(), re.MULTILINE)]
    assert not missing, missing
