"""The example project's cache, as a visitor meets it: ``MongoDBCache`` from its settings.

The site runs as ``./dev.sh example`` runs it (``migrate``, then ``runserver`` in a subprocess,
on a database of its own; see test_admin_browser.py's ``ExampleSite``). The front page counts
its views with ``cache.incr()``; ``/stats/`` is a ``cache_page`` view. No browser is needed.
"""

from __future__ import annotations

import json
import urllib.request

from tests.e2e.test_admin_browser import example_site  # noqa: F401 - the site fixture


def fetch(site, path):
    with urllib.request.urlopen(site.base_url + path, timeout=30) as response:
        return response.headers, response.read().decode()


def test_the_front_page_counts_its_views_in_the_mongodb_cache(example_site):  # noqa: F811
    _headers, first = fetch(example_site, "/")
    _headers, second = fetch(example_site, "/")
    assert "viewed 1 time " in first
    assert "viewed 2 times " in second
    document = example_site.database["django_cache"].find_one({"_id": ":1:views:post-list"})
    assert document == {"_id": ":1:views:post-list", "value": 2, "expires": None}


def test_the_stats_page_is_served_from_the_cache(example_site):  # noqa: F811
    headers, first = fetch(example_site, "/stats/")
    _headers, second = fetch(example_site, "/stats/")
    assert "max-age=60" in headers["Cache-Control"]
    assert second == first  # the same computed_at: the view ran once
    assert "computed_at" in json.loads(first)
    cached = example_site.database["django_cache"]
    # cache_page stored the response as data (JSON), and the header list as BSON; no pickle.
    assert cached.count_documents({"format": "json", "value": {"$regex": "HttpResponse"}}) == 1
    assert cached.count_documents({"format": "pickle"}) == 0
