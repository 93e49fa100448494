"""The example site's debug toolbar in headless Chromium: the MongoDB panel as a developer uses it.

The site runs as in test_admin_browser.py (``migrate`` and ``runserver`` in subprocesses, on a
database of its own), here with django-debug-toolbar installed, so its settings add the toolbar.
The toolbar lives in a shadow root (``USE_SHADOW_DOM``), reached through ``#djDebugRoot``.
Steps: open the front page, unfold the toolbar from its handle, open the MongoDB panel (loaded
from the toolbar's store by its own request), read the commands, then press Explain on the
first read and read MongoDB's answer.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_admin_browser import (  # noqa: F401 - fixtures and marks
    WAIT,
    browser,
    example_site,
    pytestmark,
)

pytest.importorskip("debug_toolbar", reason="the example site adds the toolbar only if installed")


def test_the_mongodb_panel_lists_the_commands_and_explains_a_read(browser, example_site):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT)
    browser.get(example_site.base_url + "/")
    root = wait.until(lambda d: d.find_element(By.ID, "djDebugRoot").shadow_root)

    def shown(css):
        def found(_driver):
            elements = root.find_elements(By.CSS_SELECTOR, css)
            return elements[0] if elements and elements[0].is_displayed() else False

        return wait.until(found)

    shown("#djShowToolBarButton").click()
    panel_link = shown("#djdt-MongoDBPanel a.MongoDBPanel")
    subtitle = panel_link.text
    assert "MongoDB" in subtitle and "commands in" in subtitle and "ms" in subtitle
    panel_link.click()

    table = shown("#MongoDBPanel table.djdt-mongodb-commands")
    commands = [c.text for c in table.find_elements(By.CSS_SELECTOR, "code.djdt-mongodb-shell")]
    # The front page: the published posts (an aggregate on blog_post) and its view counter
    # (MongoDBCache's $inc on django_cache).
    assert any(c.startswith("db.blog_post.aggregate([") for c in commands), commands
    assert any(c.startswith("db.django_cache.") and '"$inc"' in c for c in commands), commands
    summary = shown("#MongoDBPanel .djdt-mongodb-summary").text
    assert f"{len(commands)} command" in summary

    buttons = table.find_elements(By.CSS_SELECTOR, "button.remoteCall")
    assert buttons, "no read to explain"
    buttons[0].click()
    window = shown("#djDebugWindow .djdt-mongodb-explain")
    assert '"ok": 1' in window.text
    title = shown("#djDebugWindow h3").text
    assert title == "MongoDB explain (executionStats)"
