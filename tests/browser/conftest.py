"""One headless Chromium per test module, and a fresh tab per test that fails on any page error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.cdp import Browser, Page, chromium


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    executable = chromium()
    if executable is None:
        pytest.fail("chromium is not installed: run `make test-browser`, which installs it")
    with Browser(executable, tmp_path_factory.mktemp("chromium-profile")) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab; the test fails if the page logged any error."""
    tab = browser.page()
    yield tab
    tab.close()
    assert tab.errors == []
