"""What a user reads speaks of the product only: dates, versions, hardware and commands, never the
development process (work sessions, tracker issues, the developers' machines or folders).

Each group of user-facing files is its own test, so a failure names the group and lists every
offending ``file:line: text``."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Tight on purpose: "the issue" in prose or ".../issues/12" in a URL is fine; "issue 6", "session 8",
# a "../shared" path a user does not have, and run-log phrases about the developers' machines are not.
PATTERNS = [
    re.compile(r"\bsessions? \d+", re.IGNORECASE),
    re.compile(r"\bissue #?\d+", re.IGNORECASE),
    re.compile(r"\.\./shared"),
    re.compile(r"the project's machines", re.IGNORECASE),
    re.compile(r"the GPU machine", re.IGNORECASE),
]

# group -> glob patterns (relative to the repository root)
GROUPS = {
    "README.md": ["README.md"],
    "CHANGELOG.md": ["CHANGELOG.md"],
    "docs": ["docs/**/*.md", "mkdocs.yml"],
    "zoo": ["zoo/**/*.py"],
    "plugins": ["plugins/**/*.py", "plugins/**/*.yaml", "plugins/**/README.md"],
    "bench": ["bench/*.py"],
    "scripts": ["scripts/*"],
    "cards": ["cards/**/*"],
    "spaces": ["spaces/**/*"],
}


def _text_files(globs):
    seen = set()
    for pattern in globs:
        for path in sorted(ROOT.glob(pattern)):
            if path in seen or not path.is_file() or "__pycache__" in path.parts:
                continue
            seen.add(path)
            data = path.read_bytes()
            if b"\0" in data:
                continue  # images and other binary files
            try:
                yield path, data.decode("utf-8")
            except UnicodeDecodeError:
                continue


def find_process_words(globs):
    """Every ``file:line: text`` in the files of ``globs`` that matches one of PATTERNS."""
    hits = []
    for path, text in _text_files(globs):
        for number, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in PATTERNS):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:200]}")
    return hits


def test_the_patterns_catch_process_words_and_spare_product_text():
    def flagged(line):
        return any(p.search(line) for p in PATTERNS)

    for bad in ("measured in session 8", "(README, session 8)", "Sessions 3 and 4", "the shapes of issue 6",
                "see issue #12", "--data ../shared/data/ham10000", "on the project's machines",
                "timed on the GPU machine"):
        assert flagged(bad), bad
    for fine in ("https://github.com/huggingface/huggingface_hub/issues/1234", "a requests session",
                 "the issue is the data", "--data data/ham10000", "shared by both sets", "one H100 GPU",
                 "a 2-core Intel Xeon CPU", "conftest: scope='session'"):
        assert not flagged(fine), fine


@pytest.mark.parametrize("group", list(GROUPS))
def test_user_facing_text_has_no_process_words(group):
    hits = find_process_words(GROUPS[group])
    assert not hits, f"{len(hits)} line(s) in {group} speak of the development process:\n" + "\n".join(hits)
