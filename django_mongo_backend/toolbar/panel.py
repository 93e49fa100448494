"""``MongoDBPanel``: the MongoDB commands of a request in django-debug-toolbar.

Django's SQL panel wraps database cursors; this backend runs no SQL and its cursor is never
used for queries, so that panel stays empty. The commands are seen instead through the backend's
own hook, ``DatabaseWrapper.command_observers`` (base.py), which every command passes through
(the ORM's reads and writes, schema changes, the async path, the cache backend), whatever
``DEBUG`` says. Nothing in pymongo is patched.

What is kept per command is plain JSON (the toolbar's store serializes it, and the panel may be
rendered later from the store, in another request): the shell text, a canonical extended JSON
copy for ``explain`` (``commands.to_spec``), its shape for grouping, time and alias.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from functools import cache
from pathlib import Path

from asgiref.sync import sync_to_async
from debug_toolbar.forms import SignedDataForm
from debug_toolbar.panels import Panel
from debug_toolbar.panels.sql.utils import contrasting_color_generator
from django.db import connections
from django.template import Context, Engine
from django.urls import path
from django.utils.translation import ngettext

from . import commands

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def engine():
    """The panel's own template engine: its templates load without adding an app to
    INSTALLED_APPS (``{% url %}`` still reverses the toolbar's URLs)."""
    return Engine(dirs=[str(TEMPLATES)])


def render(name, context):
    return engine().get_template(name).render(Context(context))


def _group(records, key, name, colors):
    """Mark the records sharing ``key`` (2 or more) with ``<name>_count`` and a color;
    return how many records are in such groups."""
    groups = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    grouped = 0
    for members in groups.values():
        if len(members) > 1:
            color = next(colors)
            for record in members:
                record[f"{name}_count"] = len(members)
                record[f"{name}_color"] = color
            grouped += len(members)
    return grouped


class MongoDBPanel(Panel):
    """Every MongoDB command the request ran, in MongoDB shell syntax, with its time."""

    is_async = True
    title = "MongoDB commands"
    nav_title = "MongoDB"
    template = "mongodb_panel.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._records = []
        self._observed = []

    # -- collecting ---------------------------------------------------------------------------

    def observe(self, wrapper, command, seconds):
        # Only reads keep a copy to explain: a write's documents (GridFS chunks, bulk
        # inserts) would only fill the store.
        explainable = commands.explainable(command)
        self._records.append(
            {
                "id": uuid.uuid4().hex,
                "alias": wrapper.alias,
                "command": str(command),
                "shape": commands.shape(command),
                "spec": commands.to_spec(command) if explainable else None,
                "explainable": explainable,
                "in_transaction": wrapper.in_atomic_block,
                "duration": seconds * 1000,
            }
        )

    def enable_instrumentation(self):
        # Database connections are thread-local (context-local under ASGI), as the SQL
        # panel relies on too: adding the observer to them sees this request's commands only.
        for connection in connections.all():
            if hasattr(connection, "command_observers"):
                connection.command_observers = (*connection.command_observers, self.observe)
                self._observed.append(connection)

    async def aenable_instrumentation(self):
        await sync_to_async(self.enable_instrumentation)()

    def disable_instrumentation(self):
        for connection in self._observed:
            connection.command_observers = tuple(
                observer for observer in connection.command_observers if observer != self.observe
            )
        self._observed = []

    def generate_stats(self, request, response):
        records = self._records
        colors = contrasting_color_generator()
        duplicates = _group(records, lambda r: (r["alias"], r["command"]), "duplicate", colors)
        similar = _group(records, lambda r: (r["alias"], r["shape"]), "similar", colors)
        total = sum(record["duration"] for record in records)
        offset = 0.0
        for record in records:  # the timeline: each command's share, after the ones before it
            record["width_ratio"] = record["duration"] / total * 100 if total else 0
            record["start_offset"] = offset
            offset += record["width_ratio"]
        self.record_stats(
            {
                "commands": records,
                "total_time": total,
                "duplicate_count": duplicates,
                "similar_count": similar,
                "aliases": sorted({record["alias"] for record in records}),
            }
        )

    # -- showing ------------------------------------------------------------------------------

    @property
    def nav_subtitle(self):
        stats = self.get_stats()
        count = len(stats.get("commands", []))
        return ngettext(
            "%(count)d command in %(time).2f ms", "%(count)d commands in %(time).2f ms", count
        ) % {"count": count, "time": stats.get("total_time", 0)}

    @property
    def content(self):
        stats = dict(self.get_stats())
        shown = []
        for record in stats.get("commands", []):
            record = dict(record)
            if record["explainable"]:
                record["signed"] = SignedDataForm.sign(
                    {"request_id": self.toolbar.request_id, "command_id": record["id"]}
                )
            shown.append(record)
        stats["commands"] = shown
        return render(self.template, stats)

    def generate_server_timing(self, request, response):
        stats = self.get_stats()
        count = len(stats.get("commands", []))
        self.record_server_timing(
            "mongodb_time", f"MongoDB {count} commands", stats.get("total_time", 0)
        )

    @classmethod
    def get_urls(cls):
        from . import views

        return [path("mongodb_explain/", views.explain, name="mongodb_explain")]
