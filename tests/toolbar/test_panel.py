"""MongoDBPanel through Django's test client, with the toolbar's middleware as a user sets it.

As django-debug-toolbar's own tests do: DEBUG on, the client's address in INTERNAL_IPS,
``IS_RUNNING_TESTS`` off (else the toolbar stays out of the way of a test run), and the toolbar
caught through its ``_created`` signal to read what the panel recorded.
"""

from __future__ import annotations

import re

import pytest
from debug_toolbar.forms import SignedDataForm
from debug_toolbar.store import get_store
from debug_toolbar.toolbar import DebugToolbar
from django.db import connection
from django.test import override_settings

from django_mongo_backend.toolbar import MongoDBPanel
from tests.testapp.models import Author

PANEL = "django_mongo_backend.toolbar.MongoDBPanel"
EXPLAIN_URL = "/__debug__/mongodb_explain/"


@pytest.fixture
def toolbar_settings(db):
    overrides = override_settings(
        DEBUG=True,
        INTERNAL_IPS=["127.0.0.1"],
        ROOT_URLCONF="tests.toolbar.urls",
        MIDDLEWARE=["debug_toolbar.middleware.DebugToolbarMiddleware"],
        DEBUG_TOOLBAR_PANELS=[PANEL, "debug_toolbar.panels.sql.SQLPanel"],
        DEBUG_TOOLBAR_CONFIG={"IS_RUNNING_TESTS": False, "RENDER_PANELS": False},
    )
    DebugToolbar._urlpatterns = None
    with overrides:
        get_store().clear()
        yield
    DebugToolbar._urlpatterns = None


@pytest.fixture
def authors(toolbar_settings):
    for name, age in [("Ann", 30), ("Bob", 41), ("Cy", 45)]:
        Author.objects.create(name=name, age=age)


def visit(client, url):
    """GET ``url``; the panel of the toolbar that served it."""
    caught = []

    def created(sender, toolbar=None, **kwargs):
        caught.append(toolbar)

    DebugToolbar._created.connect(created)
    try:
        response = client.get(url)
    finally:
        DebugToolbar._created.disconnect(created)
    assert response.status_code == 200
    (toolbar,) = caught
    return response, toolbar.get_panel_by_id(MongoDBPanel.panel_id)


def commands_of(panel):
    return panel.get_stats()["commands"]


def test_commands_in_shell_syntax_with_times_and_totals(client, authors):
    response, panel = visit(client, "/authors/")
    commands = commands_of(panel)
    assert len(commands) == 4
    assert all(c["command"].startswith("db.testapp_author.") for c in commands)
    aggregate = commands[0]["command"]
    assert aggregate.startswith("db.testapp_author.aggregate([{")
    assert re.search(r'\{"\$match": \{"age": [^}]*\b30\b', aggregate), aggregate
    assert commands[3]["command"] == (
        'db.testapp_author.find({"age": {"$gte": 40}}, null, sort=[["name", 1]])'
    )
    stats = panel.get_stats()
    assert stats["total_time"] == pytest.approx(sum(c["duration"] for c in commands))
    assert panel.nav_subtitle.startswith("4 commands in ")
    # The toolbar is in the page, with the panel's button.
    assert b'id="djDebug"' in response.content
    assert b"MongoDBPanel" in response.content


def test_the_same_commands_as_connection_queries(client, authors):
    """The panel and ``connection.queries`` render commands the same way."""
    with override_settings(DEBUG=True):
        connection.queries_log.clear()
        _, panel = visit(client, "/authors/")
        assert [c["command"] for c in commands_of(panel)] == [q["sql"] for q in connection.queries]


def test_duplicates_and_similar_commands_are_flagged(client, authors):
    _, panel = visit(client, "/authors/")
    first, second, other, find = commands_of(panel)
    assert first["command"] == second["command"]
    assert first["duplicate_count"] == second["duplicate_count"] == 2
    assert "duplicate_count" not in other
    # age=30 twice and age=41: the same shape with another value.
    assert first["similar_count"] == other["similar_count"] == 3
    assert "similar_count" not in find
    stats = panel.get_stats()
    assert (stats["duplicate_count"], stats["similar_count"]) == (2, 3)


def test_rendered_panel(client, authors):
    _, panel = visit(client, "/authors/")
    html = panel.content
    assert "4 commands" in html
    assert "2 duplicates" in html and "3 similar" in html
    assert "Duplicated 2 times." in html
    assert html.count("db.testapp_author.aggregate(") == 3
    assert "db.testapp_author.find(" in html
    # Shell text is escaped, not injected.
    assert "&quot;$match&quot;" in html
    assert html.count('class="remoteCall"') == 4  # every read can be explained


def test_the_panel_renders_from_the_store(client, authors):
    """With RENDER_PANELS off (the default in a browser) the panel is drawn later by the
    toolbar's render_panel view, from what the store kept."""
    _, panel = visit(client, "/authors/")
    response = client.get(
        "/__debug__/render_panel/",
        {"request_id": panel.toolbar.request_id, "panel_id": MongoDBPanel.panel_id},
    )
    assert response.status_code == 200
    assert "Duplicated 2 times." in response.json()["content"]


def test_a_request_without_commands(client, toolbar_settings):
    _, panel = visit(client, "/nothing/")
    assert commands_of(panel) == []
    assert "No MongoDB commands were run" in panel.content
    assert panel.nav_subtitle == "0 commands in 0.00 ms"


def test_writes_are_listed_but_not_explainable(client, toolbar_settings):
    _, panel = visit(client, "/create/")
    writes = [c for c in commands_of(panel) if ".insert_many(" in c["command"]]
    assert len(writes) == 1
    assert writes[0]["explainable"] is False
    assert writes[0]["spec"] is None
    assert 'class="remoteCall"' not in panel.content


def test_instrumentation_is_removed_after_the_request(client, authors):
    visit(client, "/authors/")
    assert connection.command_observers == ()


def _signed(panel, command):
    return SignedDataForm.sign({"request_id": panel.toolbar.request_id, "command_id": command})


def explain(client, panel, record):
    return client.post(EXPLAIN_URL, {"signed": _signed(panel, record["id"])})


@pytest.mark.parametrize("index", [0, 3], ids=["aggregate", "find"])
def test_explain_runs_explain_on_the_read(client, authors, index):
    _, panel = visit(client, "/authors/")
    record = commands_of(panel)[index]
    response = explain(client, panel, record)
    assert response.status_code == 200
    content = response.json()["content"]
    assert "MongoDB explain (executionStats)" in content
    # The server's answer is shown as it came, and its winning plan summed up: the embedded
    # server answers in MongoDB's layout too (corrections/explain.py), which
    # commands.plan_stages reads (tests/toolbar/test_commands.py).
    assert "&quot;ok&quot;: 1" in content
    assert "&quot;winningPlan&quot;" in content
    assert 'class="djdt-mongodb-plan"' in content
    assert "COLLSCAN" in content or "IXSCAN" in content
    assert "refused the explain" not in content


def test_explain_of_a_read_runs_explain_and_nothing_else(client, authors):
    _, panel = visit(client, "/authors/")
    record = commands_of(panel)[0]
    with override_settings(DEBUG=True):
        connection.queries_log.clear()
        assert explain(client, panel, record).status_code == 200
        sent = [q["sql"] for q in connection.queries]
    assert len(sent) == 1
    assert sent[0].startswith('db.command("explain", {"aggregate": "testapp_author"')
    assert sent[0].endswith('verbosity="executionStats")')


def test_explain_refuses_an_unsigned_or_tampered_request(client, authors):
    _, panel = visit(client, "/authors/")
    record = commands_of(panel)[0]
    signed = _signed(panel, record["id"])
    payload, signature = signed.rsplit(":", 1)
    forged = payload.replace(record["id"], commands_of(panel)[1]["id"]) + ":" + signature
    tampered = payload + ":" + signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    for data in ({}, {"signed": payload}, {"signed": forged}, {"signed": tampered}):
        response = client.post(EXPLAIN_URL, data)
        assert response.status_code == 400, data
        assert response.content == b"Invalid signature"


def test_explain_refuses_a_write(client, toolbar_settings):
    _, panel = visit(client, "/create/")
    (write,) = [c for c in commands_of(panel) if ".insert_many(" in c["command"]]
    before = Author.objects.count()
    response = explain(client, panel, write)
    assert response.status_code == 400
    assert response.content == b"Only reads are explained."
    assert Author.objects.count() == before


def test_explain_refuses_an_unknown_command_or_request(client, authors):
    _, panel = visit(client, "/authors/")
    assert client.post(EXPLAIN_URL, {"signed": _signed(panel, "0" * 32)}).status_code == 400
    stale = SignedDataForm.sign({"request_id": "gone", "command_id": "0" * 32})
    response = client.post(EXPLAIN_URL, {"signed": stale})
    assert response.status_code == 400
    assert b"isn't available anymore" in response.content


def test_explain_is_only_served_when_the_toolbar_shows(client, authors):
    _, panel = visit(client, "/authors/")
    record = commands_of(panel)[0]
    with override_settings(INTERNAL_IPS=[]):
        assert explain(client, panel, record).status_code == 404
    assert client.get(EXPLAIN_URL).status_code == 405


def test_the_explain_button_posts_the_signed_reference(client, authors):
    _, panel = visit(client, "/authors/")
    html = panel.content
    values = re.findall(r'name="signed" value="([^"]+)"', html)
    assert len(values) == 4
    response = client.post(EXPLAIN_URL, {"signed": values[3].replace("&quot;", '"')})
    assert response.status_code == 200
    assert "db.testapp_author.find(" in response.json()["content"]
