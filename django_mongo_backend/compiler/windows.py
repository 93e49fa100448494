"""Window expressions (``expression OVER (PARTITION BY ... ORDER BY ... frame)``) ->
``$setWindowFields``.

Every Window of a query registers here (``Windows.read``), which returns the expression that
reads its value once ``stages()`` has run; the SELECT pipeline puts those stages after WHERE and
the joins, before the computed columns, QUALIFY (a filter on windows), ORDER BY and the slice,
as SQL evaluates windows. Windows of the same partition and order share their stages.

What MongoDB has no operator for, or refuses, is computed from what it has:

- ``$setWindowFields`` sorts on fields only, so each ORDER BY term is computed first into a key
  (``__wk<n>``, null where missing: MongoDB 7.0 ranks a missing value apart from null, SQL has
  one NULL), with a null flag before it for NULLS FIRST/LAST against MongoDB's order;
- ``$rank``, ``$denseRank`` and ``$documentNumber`` take exactly one sort key (5371602): a row
  number over several keys is a running count, and ranks over several keys come from the
  *peers* (rows of equal ORDER BY values): RANK is the lowest row number among them, DENSE_RANK
  a running count of the first row of each peer group;
- SQL's default frame with ORDER BY (and ``ValueRange(None, 0)``) is RANGE BETWEEN UNBOUNDED
  PRECEDING AND CURRENT ROW: it ends at the current row's last peer. MongoDB's range windows
  need a single numeric sort key (5339902), so the value is the running value (documents
  ``[unbounded, current]``) read at the last peer: a second ``$setWindowFields`` partitioned by
  the peers, sorted by row number. ``ValueRange(0, None)`` (from the first peer) is the value
  over documents ``[current, unbounded]`` read at the first peer, ``ValueRange(0, 0)`` the
  peer group's own. Without ORDER BY every row is a peer: the whole partition;
- ``PERCENT_RANK`` is ``(rank - 1) / (rows - 1)``, ``CUME_DIST`` the last peer's row number over
  the partition's rows, ``NTILE`` buckets the row numbers as SQL does (the first
  ``rows % n`` buckets one row larger);
- ``LAG``/``LEAD`` are ``$shift``, whose default must be a constant: a default of another kind
  is applied after a shift of ``{v: value}`` (null only past the partition's edge);
- ``NTH_VALUE`` is the ``n``-th element of a ``$push`` over the frame;
- ``SUM`` of an empty frame is NULL (``$sum`` says 0), so a frame that may leave out the current
  row counts its values too.

``ValueRange`` with offsets is MongoDB's range window, on one ascending numeric key; anything
else raises NotSupportedError. MongoDB has no frame exclusion: a frame with one pushes its
rows and the current row filters them (``_excluded``), for COUNT, SUM, AVG, MIN, MAX and the
FIRST/LAST/NTH_VALUE of the frame.
"""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models import Value
from django.db.models import aggregates as agg
from django.db.models.expressions import ValueRange, WindowFrameExclusion
from django.db.models.functions import window as functions

from .aggregates import Distinct, aggregate_input, compile_aggregate
from .dispatch import by_class
from .field_types import NUMERIC_TYPES
from .mql_types import AggregationExpression, Stage
from .nulls import is_not_null, null_if_missing
from .ordering import moves_nulls

UNBOUNDED, CURRENT = "unbounded", "current"
RUNNING = [UNBOUNDED, CURRENT]
#: The RANGE frames bounded by CURRENT ROW (its peers) and UNBOUNDED, on any ORDER BY: the
#: ``documents`` window computed in sort order, and the peer whose value is the frame's
#: (the last peer up to it, the first from it); the peers alone are the peer group itself.
PEER_FRAMES = {
    "to_peers": ({"documents": RUNNING}, "$last"),
    "from_peers": ({"documents": [CURRENT, UNBOUNDED]}, "$first"),
    "peers": (None, None),
}
#: When a Window has no ORDER BY but its function needs a sort (row numbers, shifts, row
#: frames), SQL leaves the order to the engine: the documents' ``_id``.
ARBITRARY_SORT = (("_id", 1),)
#: Each row's identity, for frame exclusions: its number among all the rows.
ROW_ID = "__wid"


def _non_null(values):
    return {"$filter": {"input": values, "cond": is_not_null("$$this")}}


def _count(values):
    return {"$size": _non_null(values)}


def _sum(values):
    present = _non_null(values)
    return {"$cond": [{"$gt": [{"$size": present}, 0]}, {"$sum": present}, None]}


#: Aggregates over a frame with an exclusion: their SQL value over the values kept (array
#: operators skip nulls as SQL's aggregates do; SUM of none is NULL).
EXCLUDING_AGGREGATES = {
    agg.Count: _count,
    agg.Sum: _sum,
    agg.Avg: lambda values: {"$avg": values},
    agg.Min: lambda values: {"$min": values},
    agg.Max: lambda values: {"$max": values},
}


class Frame:
    """Where a window's function reads: the whole partition, a ``documents`` or ``range``
    window (``bounds``), or a frame bounded by the current row's peers: up to the last one
    (``to_peers``), from the first one (``from_peers``), the peers alone (``peers``)."""

    __slots__ = ("bounds", "exclusion", "kind")

    def __init__(self, kind, bounds=None, exclusion=None):
        self.kind = kind  # "whole", "documents", "range" or one of PEER_FRAMES
        self.bounds = bounds
        self.exclusion = exclusion  # a WindowFrameExclusion other than NO OTHERS, or None

    def window(self):
        """The ``window`` of an output in the stage that computes it (none: the partition)."""
        if self.kind == "whole":
            return None
        if self.kind in PEER_FRAMES:
            return PEER_FRAMES[self.kind][0]
        return {self.kind: self.bounds}

    def may_be_empty(self):
        """Whether the frame may hold no row (it need not hold the current one)."""
        if self.kind == "whole" or self.kind in PEER_FRAMES:
            return False
        low, high = self.bounds
        return not (_at_or_before(low) and _at_or_after(high))


def _at_or_before(bound):
    return bound in (UNBOUNDED, CURRENT) or bound <= 0


def _at_or_after(bound):
    return bound in (UNBOUNDED, CURRENT) or bound >= 0


def _stored_type(expression):
    """The internal type of what ``expression`` stores (a foreign key stores its target's):
    a range window with offsets needs a number (a date would need a ``unit``)."""
    try:
        field = expression.output_field
    except Exception:
        return None
    while getattr(field, "target_field", None) is not None and field.is_relation:
        field = field.target_field
    return field.get_internal_type()


def _bound(value):
    return UNBOUNDED if value is None else CURRENT if value == 0 else value


class Spec:
    """The stages of the windows sharing one partition and one sort."""

    def __init__(self, number, partition, sort, peers):
        self.number = number
        self.partition = partition  # an aggregation expression, or None
        self.sort = sort  # {key: direction}, or None
        self.peers = peers  # the keys rows are peers on (the ORDER BY's), or None
        self.outputs: dict[str, Any] = {}  # the first $setWindowFields
        self.peer_outputs: dict[str, Any] = {}  # the one partitioned by peers
        self.last_outputs: dict[str, Any] = {}  # running over the row numbers, after it

    @property
    def row_number(self):
        """The field of the running row number (over any number of sort keys)."""
        name = f"__ws{self.number}n"
        self.outputs.setdefault(name, {"$sum": 1, "window": {"documents": RUNNING}})
        return name

    @property
    def rows(self):
        """The field of the partition's number of rows."""
        name = f"__ws{self.number}c"
        self.outputs.setdefault(name, {"$sum": 1})
        return name

    def stages(self):
        stages = []
        base = {} if self.partition is None else {"partitionBy": self.partition}
        if self.outputs:
            sort = {} if self.sort is None else {"sortBy": self.sort}
            stages.append({"$setWindowFields": {**base, **sort, "output": self.outputs}})
        by_rows = {"sortBy": {self.row_number: 1}} if self.peer_outputs or self.last_outputs else {}
        if self.peer_outputs:
            peers = {
                "p": self.partition,
                **{f"k{i}": f"${key}" for i, key in enumerate(self.peers)},
            }
            stages.append(
                {
                    "$setWindowFields": {
                        "partitionBy": peers,
                        **by_rows,
                        "output": self.peer_outputs,
                    }
                }
            )
        if self.last_outputs:
            stages.append({"$setWindowFields": {**base, **by_rows, "output": self.last_outputs}})
        return stages


class Windows:
    """The windows of one query, read through ``expression_compiler`` (its scope, its
    ``prelude`` of subquery lookups)."""

    def __init__(self, expression_compiler: Any) -> None:
        self.compiler = expression_compiler
        self.keys: dict[str, AggregationExpression] = {}  # sort key field -> its value
        self.specs: dict[tuple[str, str], Spec] = {}
        self.reads: dict[Any, AggregationExpression] = {}  # Window -> what reads its value
        self.count = 0
        self.row_ids = False  # whether a frame exclusion needs each row's identity (ROW_ID)

    def read(self, window: Any) -> AggregationExpression:
        read = self.reads.get(window)
        if read is None:
            read = self.reads[window] = self._compile(window)
        return read

    def stages(self) -> list[Stage]:
        """The row identities frame exclusions need, the sort keys, then each spec's
        ``$setWindowFields`` stages."""
        stages: list[Stage] = []
        if self.row_ids:
            number: dict[str, Any] = {ROW_ID: {"$documentNumber": {}}}
            stages.append({"$setWindowFields": {"sortBy": dict(ARBITRARY_SORT), "output": number}})
        if self.keys:
            stages.append({"$addFields": dict(self.keys)})
        for spec in self.specs.values():
            stages.extend(spec.stages())
        return stages

    # -- one window -----------------------------------------------------------------------

    def _compile(self, window):
        source = window.source_expression
        ordered = window.order_by is not None and bool(window.order_by.get_source_expressions())
        handler = by_class(FUNCTIONS, source)
        if handler is None and isinstance(source, agg.Aggregate):
            handler = Windows._aggregate
        if handler is None:
            raise NotSupportedError(
                f"{type(source).__name__} over a window is not supported on MongoDB"
            )
        return handler(self, window, source, ordered)

    def _name(self):
        self.count += 1
        return f"__w{self.count}"

    def _spec(self, window, *, needs_sort, numeric_range=False):
        """The spec of the window's partition and order; ``needs_sort``: the function needs
        a sort even when the window has none (an arbitrary one then); ``numeric_range``: the
        sort of a range window (``_sort``)."""
        partition = self._partition(window)
        sort, peers = self._sort(window, numeric_range=numeric_range)
        if sort is None and needs_sort:
            sort = dict(ARBITRARY_SORT)
        identity = (repr(partition), repr(sort))
        spec = self.specs.get(identity)
        if spec is None:
            spec = self.specs[identity] = Spec(len(self.specs), partition, sort, peers)
        return spec

    def _partition(self, window):
        if window.partition_by is None:
            return None
        values = [
            null_if_missing(self.compiler.compile(expression))
            for expression in window.partition_by.get_source_expressions()
        ]
        if len(values) == 1:
            return values[0]
        # An array partition key is refused (TypeMismatch): a document holds several.
        return {f"p{i}": value for i, value in enumerate(values)}

    def _sort(self, window, *, numeric_range=False):
        """The ``sortBy`` of the window's ORDER BY, and the keys peers share.

        A range window (``numeric_range``, one ascending number: ``_check_range``) sorts on a
        number only (MongoDB refuses a null, 5429413), so NULL is an infinity there, on the
        side NULLS FIRST/LAST puts it: the NULL rows stay each other's peers (an infinity
        plus or minus an offset is itself) and outside every other row's range."""
        if window.order_by is None:
            return None, None
        sort, peers = {}, []
        for order in window.order_by.get_source_expressions():
            expression = getattr(order, "expression", order)
            descending = getattr(order, "descending", False)
            value = null_if_missing(self.compiler.compile(expression))
            if numeric_range:
                edge = float("inf") if getattr(order, "nulls_last", False) else float("-inf")
                key = self._key({"$ifNull": [value, {"$literal": edge}]})
                sort[key] = 1
                peers.append(key)
                continue
            key = self._key(value)
            if moves_nulls(
                descending,
                getattr(order, "nulls_first", False),
                getattr(order, "nulls_last", False),
            ):
                flag = self._key({"$cond": [is_not_null(value), 1, 0]})
                sort.setdefault(flag, 1 if order.nulls_first else -1)
            sort.setdefault(key, -1 if descending else 1)
            peers.append(key)
        return (sort, peers) if sort else (None, None)

    def _key(self, value):
        for key, known in self.keys.items():
            if known == value:
                return key
        key = f"__wk{len(self.keys)}"
        self.keys[key] = value
        return key

    def _frame(self, window, ordered):
        frame = window.frame
        if frame is None:
            return Frame("to_peers" if ordered else "whole")
        if (
            frame.exclusion is not None
            and not self.compiler.connection.features.supports_frame_exclusion
        ):
            raise NotSupportedError("This backend does not support window frame exclusions.")
        result = self._frame_bounds(window, frame, ordered)
        if frame.exclusion not in (None, WindowFrameExclusion.NO_OTHERS):
            result.exclusion = frame.exclusion
        return result

    def _frame_bounds(self, window, frame, ordered):
        ops = self.compiler.connection.ops
        start, end = frame.start.value, frame.end.value
        if isinstance(frame, ValueRange):
            ops.window_frame_range_start_end(start, end)  # Django's own checks
            if start is None and end is None:
                return Frame("whole")
            if not ordered:
                return Frame("whole")  # every row is a peer of every other
            peer_frame = {(None, 0): "to_peers", (0, None): "from_peers", (0, 0): "peers"}
            if (start, end) in peer_frame:
                return Frame(peer_frame[start, end])
            self._check_range(window)
            return Frame("range", [_bound(start), _bound(end)])
        ops.window_frame_rows_start_end(start, end)
        if start is None and end is None:
            return Frame("whole")
        return Frame("documents", [_bound(start), _bound(end)])

    def _check_range(self, window):
        (order, *others) = window.order_by.get_source_expressions()
        expression = getattr(order, "expression", order)
        if (
            others
            or getattr(order, "descending", False)
            or _stored_type(expression) not in NUMERIC_TYPES
        ):
            raise NotSupportedError(
                "ValueRange frames with offsets need one ascending numeric ORDER BY expression "
                "on MongoDB (a range window sorts on a single number)"
            )

    # -- functions ------------------------------------------------------------------------

    def _aggregate(self, window, source, ordered):
        frame = self._frame(window, ordered)
        spec = self._spec(
            window,
            needs_sort=frame.kind in ("documents", "range") or frame.exclusion is not None,
            numeric_range=frame.kind == "range",
        )
        if frame.exclusion is not None:
            reduce = EXCLUDING_AGGREGATES.get(type(source))
            if reduce is None or getattr(source, "distinct", False):
                raise NotSupportedError(
                    f"{type(source).__name__} over a frame with an exclusion is not supported "
                    "on MongoDB"
                )
            value, _always, _condition = aggregate_input(source, self.compiler)
            return reduce(self._excluded(spec, frame, value))
        accumulators = {}
        name = self._name()
        read = compile_aggregate(source, self.compiler, name, accumulators)
        if isinstance(source, agg.Sum) and frame.may_be_empty():
            value, _always, _condition = aggregate_input(source, self.compiler)
            counter = f"{name}z"
            accumulators[counter] = ({"$sum": {"$cond": [is_not_null(value), 1, 0]}}, 0)
            read = {"$cond": [{"$gt": [f"${counter}", 0]}, read, None]}
        for field, (accumulator, _empty) in accumulators.items():
            if isinstance(accumulator, Distinct) or getattr(source, "distinct", False):
                raise NotSupportedError("DISTINCT aggregates over a window are not supported")
            self._output(spec, frame, field, accumulator)
        return read

    def _output(self, spec, frame, field, accumulator):
        """``accumulator`` over ``frame`` into ``field``; up to the last peer, read there."""
        window = frame.window()
        if frame.kind in PEER_FRAMES:
            spec.row_number  # noqa: B018 (registers the row number the peers sort on)
            pick = PEER_FRAMES[frame.kind][1]
            if pick is None:  # the peers alone: the accumulator over the peer group
                spec.peer_outputs[field] = accumulator
                return
            spec.peer_outputs[field] = {pick: f"${field}"}
        spec.outputs[field] = accumulator if window is None else {**accumulator, "window": window}

    def _row_number(self, window, source, ordered):
        spec = self._spec(window, needs_sort=True)
        if len(spec.sort) == 1:
            name = self._name()
            spec.outputs[name] = {"$documentNumber": {}}
            return f"${name}"
        return f"${spec.row_number}"

    def _rank(self, window, source, ordered, *, dense=False):
        if not ordered:
            return 1  # every row is a peer: all rank first
        spec = self._spec(window, needs_sort=True)
        name = self._name()
        if len(spec.sort) == 1:
            spec.outputs[name] = {"$denseRank" if dense else "$rank": {}}
            return f"${name}"
        rank = f"{name}r" if dense else name
        spec.peer_outputs[rank] = {"$min": f"${spec.row_number}"}
        if dense:
            first_of_peers = {"$cond": [{"$eq": [f"${spec.row_number}", f"${rank}"]}, 1, 0]}
            spec.last_outputs[name] = {"$sum": first_of_peers, "window": {"documents": RUNNING}}
        return f"${name}"

    def _dense_rank(self, window, source, ordered):
        return self._rank(window, source, ordered, dense=True)

    def _percent_rank(self, window, source, ordered):
        if not ordered:
            return 0.0
        rank = self._rank(window, source, ordered)
        rows = f"${self._spec(window, needs_sort=True).rows}"
        return {
            "$cond": [
                {"$gt": [rows, 1]},
                {"$divide": [{"$subtract": [rank, 1]}, {"$subtract": [rows, 1]}]},
                0.0,
            ]
        }

    def _cume_dist(self, window, source, ordered):
        if not ordered:
            return 1.0
        spec = self._spec(window, needs_sort=True)
        name = self._name()
        spec.peer_outputs[name] = {"$max": f"${spec.row_number}"}
        return {"$divide": [f"${name}", f"${spec.rows}"]}

    def _ntile(self, window, source, ordered):
        (buckets,) = source.get_source_expressions()
        spec = self._spec(window, needs_sort=True)
        row, rows = f"${spec.row_number}", f"${spec.rows}"
        n = self.compiler.compile(buckets)
        # q rows per bucket, the first r buckets one more: rows up to r * (q + 1) fill those.
        return {
            "$let": {
                "vars": {
                    "q": {"$floor": {"$divide": [rows, n]}},
                    "r": {"$mod": [rows, n]},
                    "i": {"$subtract": [row, 1]},
                },
                "in": {
                    "$toLong": {
                        "$cond": [
                            {"$lt": ["$$i", {"$multiply": ["$$r", {"$add": ["$$q", 1]}]}]},
                            {"$add": [{"$floor": {"$divide": ["$$i", {"$add": ["$$q", 1]}]}}, 1]},
                            {
                                "$add": [
                                    "$$r",
                                    {
                                        "$floor": {
                                            "$divide": [
                                                {
                                                    "$subtract": [
                                                        "$$i",
                                                        {
                                                            "$multiply": [
                                                                "$$r",
                                                                {"$add": ["$$q", 1]},
                                                            ]
                                                        },
                                                    ]
                                                },
                                                "$$q",
                                            ]
                                        }
                                    },
                                    1,
                                ]
                            },
                        ]
                    }
                },
            }
        }

    def _shift(self, window, source, ordered, *, sign):
        expression, offset, *default = source.get_source_expressions()
        if not isinstance(offset, Value) or not isinstance(offset.value, int):
            raise NotSupportedError(f"{type(source).__name__}'s offset must be an integer")
        spec = self._spec(window, needs_sort=True)
        name = self._name()
        value = null_if_missing(self.compiler.compile(expression))
        shift = {"output": value, "by": sign * offset.value}
        if not default or isinstance(default[0], Value):
            if default:
                shift["default"] = self.compiler.compile(default[0])
            spec.outputs[name] = {"$shift": shift}
            return f"${name}"
        # $shift's default must be a constant: null marks the partition's edge instead.
        spec.outputs[name] = {"$shift": {**shift, "output": {"v": value}}}
        return {
            "$cond": [
                {"$eq": [f"${name}", None]},
                self.compiler.compile(default[0]),
                {"$ifNull": [f"${name}.v", None]},
            ]
        }

    def _lag(self, window, source, ordered):
        return self._shift(window, source, ordered, sign=-1)

    def _lead(self, window, source, ordered):
        return self._shift(window, source, ordered, sign=1)

    def _edge_value(self, window, source, ordered, *, operator):
        (expression,) = source.get_source_expressions()
        frame = self._frame(window, ordered)
        spec = self._spec(window, needs_sort=True, numeric_range=frame.kind == "range")
        value = null_if_missing(self.compiler.compile(expression))
        if frame.exclusion is not None:
            values = self._excluded(spec, frame, value)
            return {
                "$ifNull": [{"$arrayElemAt": [values, 0 if operator == "$first" else -1]}, None]
            }
        name = self._name()
        self._output(spec, frame, name, {operator: value})
        return f"${name}"

    def _first_value(self, window, source, ordered):
        return self._edge_value(window, source, ordered, operator="$first")

    def _last_value(self, window, source, ordered):
        return self._edge_value(window, source, ordered, operator="$last")

    def _nth_value(self, window, source, ordered):
        expression, nth = source.get_source_expressions()
        if not isinstance(nth, Value) or not isinstance(nth.value, int):
            raise NotSupportedError("NthValue's nth must be an integer")
        frame = self._frame(window, ordered)
        spec = self._spec(window, needs_sort=True, numeric_range=frame.kind == "range")
        value = null_if_missing(self.compiler.compile(expression))
        if frame.exclusion is not None:
            values = self._excluded(spec, frame, value)
        else:
            name = self._name()
            self._output(spec, frame, name, {"$push": value})
            values = f"${name}"
        return {"$ifNull": [{"$arrayElemAt": [values, nth.value - 1]}, None]}

    def _excluded(self, spec, frame, value):
        """The values of ``frame`` in sort order, without the rows its exclusion leaves out.

        MongoDB has no frame exclusion: the frame pushes each row's value with the row's
        identity (``ROW_ID``, numbered once before every window) and its ORDER BY values,
        and the current row filters them: EXCLUDE CURRENT ROW drops itself, EXCLUDE GROUP
        its peers and itself, EXCLUDE TIES its peers but not itself."""
        self.row_ids = True
        keys = [f"${key}" for key in spec.peers or ()]
        name = self._name()
        self._output(spec, frame, name, {"$push": {"i": f"${ROW_ID}", "k": keys, "v": value}})
        itself = {"$eq": ["$$this.i", f"${ROW_ID}"]}
        peer = {"$eq": ["$$this.k", keys]}
        kept = {
            WindowFrameExclusion.CURRENT_ROW: {"$not": [itself]},
            WindowFrameExclusion.GROUP: {"$not": [peer]},
            WindowFrameExclusion.TIES: {"$or": [itself, {"$not": [peer]}]},
        }[frame.exclusion]
        rows = {"$filter": {"input": f"${name}", "cond": kept}}
        return {"$map": {"input": rows, "in": "$$this.v"}}


FUNCTIONS = {
    functions.RowNumber: Windows._row_number,
    functions.Rank: Windows._rank,
    functions.DenseRank: Windows._dense_rank,
    functions.PercentRank: Windows._percent_rank,
    functions.CumeDist: Windows._cume_dist,
    functions.Ntile: Windows._ntile,
    functions.Lag: Windows._lag,
    functions.Lead: Windows._lead,
    functions.FirstValue: Windows._first_value,
    functions.LastValue: Windows._last_value,
    functions.NthValue: Windows._nth_value,
}
