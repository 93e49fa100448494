"""What the toolbar panel needs of a ``MongoCommand``, without importing the toolbar.

- ``to_spec``/``from_spec``: a command as canonical extended JSON text, so it survives the
  toolbar's store (which keeps JSON) with its BSON types intact (an Int64 stays an Int64, an
  ObjectId an ObjectId) and can be explained later exactly as it ran.
- ``shape``: the command with its values blanked, so commands that differ only in values
  (``pk=1``, ``pk=2``: the N+1 pattern) are grouped as similar.
- ``explain_document``: the ``explain`` command for a read, refusing anything else, since the
  explain view must never become a way to run a write.
"""

from __future__ import annotations

from bson import SON, json_util
from bson.binary import UuidRepresentation

from ..mongo_command import MongoCommand, to_json

_CANONICAL = json_util.JSONOptions(
    json_mode=json_util.JSONMode.CANONICAL,
    uuid_representation=UuidRepresentation.STANDARD,
    document_class=SON,
    tz_aware=True,
)


class NotExplainable(ValueError):
    """The command is not a read the panel knows how to explain."""


def to_spec(command):
    return json_util.dumps(
        {
            "collection": command.collection,
            "method": command.method,
            "args": list(command.args),
            "kwargs": command.kwargs,
        },
        json_options=_CANONICAL,
    )


def from_spec(spec):
    data = json_util.loads(spec, json_options=_CANONICAL)
    return MongoCommand(data["collection"], data["method"], *data["args"], **data["kwargs"])


# -- similar commands -------------------------------------------------------------------------

_BLANK = "?"


def _blank(value):
    """``value`` with every literal replaced by ``?``: keys, operators and ``$field`` paths
    stay (they make the shape), and a list of literals becomes ``[?]`` whatever its length
    (``$in`` of 2 or of 3 ids is the same query)."""
    if isinstance(value, dict):
        return {key: _blank(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_blank(item) for item in value]
        if all(item == _BLANK for item in items):
            return [_BLANK] if items else []
        return items
    if isinstance(value, str) and value.startswith("$"):
        return value
    return _BLANK


def shape(command):
    target = "db" if command.collection is None else f"db.{command.collection}"
    parts = [to_json(_blank(arg)) for arg in command.args]
    parts.extend(f"{key}={to_json(_blank(value))}" for key, value in command.kwargs.items())
    return f"{target}.{command.method}({', '.join(parts)})"


# -- explain -----------------------------------------------------------------------------------

#: pymongo's ``aggregate()`` keyword arguments that are fields of the aggregate command
#: (pymongo sends them as they are, camelCase); anything else makes the command unexplained.
_AGGREGATE_OPTIONS = {
    "allowDiskUse",
    "batchSize",
    "collation",
    "comment",
    "hint",
    "let",
    "maxTimeMS",
}

#: pymongo's ``find()`` keyword arguments -> the find command's fields.
_FIND_OPTIONS = {
    "sort": "sort",
    "skip": "skip",
    "limit": "limit",
    "hint": "hint",
    "collation": "collation",
    "comment": "comment",
    "let": "let",
    "max_time_ms": "maxTimeMS",
    "batch_size": "batchSize",
    "allow_disk_use": "allowDiskUse",
    "min": "min",
    "max": "max",
    "return_key": "returnKey",
    "show_record_id": "showRecordId",
}

#: Aggregation stages that write: a pipeline with one is not a read (MongoDB manual,
#: "$out" and "$merge"), whatever its method is called.
_WRITING_STAGES = {"$out", "$merge"}


def _index_spec(value):
    """pymongo's sort/hint forms (a key, or a list of (key, direction) pairs) as a document."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value
    return SON((key, direction) for key, direction in value)


def _projection(value):
    """pymongo accepts a list of field names as the projection: ``{name: 1}`` each."""
    if value is None or isinstance(value, dict):
        return value
    return dict.fromkeys(value, 1)


def _aggregate(command):
    if len(command.args) != 1 or set(command.kwargs) - _AGGREGATE_OPTIONS:
        raise NotExplainable("an aggregate with arguments the panel does not know")
    pipeline = list(command.args[0])
    for stage in pipeline:
        if isinstance(stage, dict) and _WRITING_STAGES & set(stage):
            raise NotExplainable("the pipeline writes ($out or $merge): it is not a read")
    document = SON(
        [
            ("aggregate", command.collection or 1),
            ("pipeline", pipeline),
            ("cursor", {}),
        ]
    )
    document.update(command.kwargs)
    return document


def _find(command):
    if command.collection is None or len(command.args) > 2:
        raise NotExplainable("a find with arguments the panel does not know")
    unknown = set(command.kwargs) - set(_FIND_OPTIONS)
    if unknown:
        raise NotExplainable(f"find() options the panel does not know: {sorted(unknown)}")
    filter_ = command.args[0] if command.args else None
    projection = _projection(command.args[1]) if len(command.args) > 1 else None
    document = SON([("find", command.collection), ("filter", filter_ or {})])
    if projection is not None:
        document["projection"] = projection
    for option, value in command.kwargs.items():
        if value is None:
            continue
        field = _FIND_OPTIONS[option]
        document[field] = _index_spec(value) if field in ("sort", "hint") else value
    return document


_EXPLAINERS = {"aggregate": _aggregate, "find": _find}


def explainable(command):
    try:
        explain_document(command)
    except NotExplainable:
        return False
    return True


def explain_document(command):
    """The command document to wrap in ``explain`` for ``command``, a read; else
    ``NotExplainable``."""
    explainer = _EXPLAINERS.get(command.method)
    if explainer is None:
        raise NotExplainable(f"{command.method}() is not a read the panel explains")
    return explainer(command)


def plan_stages(explained):
    """The stage names of every winning plan in an explain result (``COLLSCAN``, ``IXSCAN``,
    ``FETCH``...), in the order they appear: the gist of a plan, for the summary line."""
    found = []

    def stages(plan):
        if isinstance(plan, dict):
            if isinstance(plan.get("stage"), str):
                found.append(plan["stage"])
            for value in plan.values():
                stages(value)
        elif isinstance(plan, list):
            for item in plan:
                stages(item)

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "winningPlan":
                    stages(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(explained)
    return found
