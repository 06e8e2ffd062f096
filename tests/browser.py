"""A headless Chromium for the browser tests (Playwright with Debian's Chromium, never a downloaded browser).

Without Playwright or Chromium the browser tests skip, except where ``MEDGAN_ZOO_BROWSER_TESTS=1``
(CI sets it after installing both): there a missing browser fails the run instead of hiding it.
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

# Without the background-networking flags Chromium tries to reach outside hosts at every start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _missing(what: str):
    if os.environ.get("MEDGAN_ZOO_BROWSER_TESTS") == "1":
        pytest.fail(f"{what} is missing, and MEDGAN_ZOO_BROWSER_TESTS=1 asks for the browser tests")
    pytest.skip(f"{what} is not installed (apt-get install chromium; pip install playwright)")


@contextlib.contextmanager
def chromium_page(width: int = 1400, height: int = 900):
    """A new page in headless Chromium; closed afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _missing("Chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()
