"""The panel's "Explain" button: MongoDB's ``explain`` of one recorded read.

As the SQL panel's explain view does, the request carries only a signed reference (the
toolbar's request id and the command's id, signed with SECRET_KEY by ``SignedDataForm``); the
command itself is taken from the toolbar's store, where the panel recorded it. A request that
is unsigned or tampered with, that names a command no longer stored, or a command that is not
a read (``commands.explain_document`` refuses writes, and aggregations with ``$out`` or
``$merge``) gets a 400 and runs nothing. The view is only served when the toolbar shows
(``require_show_toolbar``).

The verbosity is ``executionStats``: like the SQL panel's ``EXPLAIN ANALYZE`` on PostgreSQL,
the read runs once more, so the documents and keys examined are shown, not only the plan.
MongoDB refuses ``explain`` in a multi-document transaction, so it runs outside any.
"""

from __future__ import annotations

from bson import json_util
from debug_toolbar.decorators import render_with_toolbar_language, require_show_toolbar
from debug_toolbar.forms import SignedDataForm
from debug_toolbar.toolbar import DebugToolbar
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connections
from django.http import HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..mongo_command import MongoCommand
from . import commands
from .panel import MongoDBPanel, render

VERBOSITY = "executionStats"

_PRETTY = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED)


def _recorded(request):
    """The panel's record of the command the signed form names, or an error message."""
    signed = SignedDataForm(request.POST)
    if not signed.is_valid():
        return None, "Invalid signature"
    data = signed.verified_data()
    toolbar = DebugToolbar.fetch(data.get("request_id", ""), panel_id=MongoDBPanel.panel_id)
    if toolbar is None:
        return None, "Data for this panel isn't available anymore."
    stats = toolbar.get_panel_by_id(MongoDBPanel.panel_id).get_stats()
    for record in stats.get("commands", []):
        if record["id"] == data.get("command_id"):
            return record, None
    return None, "Invalid command id."


@csrf_exempt
@login_not_required
@require_POST
@require_show_toolbar
@render_with_toolbar_language
def explain(request):
    record, error = _recorded(request)
    if error:
        return HttpResponseBadRequest(error)
    if not record["spec"] or record["alias"] not in connections:
        return HttpResponseBadRequest("Only reads are explained.")
    command = commands.from_spec(record["spec"])
    try:
        document = commands.explain_document(command)
    except commands.NotExplainable as refused:
        return HttpResponseBadRequest(f"Only reads are explained: {refused}")
    wrapper = connections[record["alias"]]
    context = {"record": record, "verbosity": VERBOSITY, "stages": [], "error": None}
    try:
        result = wrapper.execute_command(
            MongoCommand(None, "command", "explain", document, verbosity=VERBOSITY),
            transactional=False,
        )
    except DatabaseError as failed:
        context["error"] = str(failed)
    else:
        result.pop("$clusterTime", None)
        result.pop("operationTime", None)
        context["stages"] = commands.plan_stages(result)
        context["explained"] = json_util.dumps(result, json_options=_PRETTY, indent=2)
    return JsonResponse({"content": render("mongodb_explain.html", context)})
