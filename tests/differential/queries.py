"""Hypothesis strategies that write querysets as Python source over the differential schema.

A generated queryset is its own repro: a string such as
``Book.objects.filter(Q(pages__gt=2) | ~Q(title__icontains='zoë')).order_by('-price', 'pk')[1:4]``
that :func:`run` evaluates against one database alias. Generating text is cheap (no Django
objects are built until the string is evaluated), and a shrunk failure prints as a line that
can be pasted into ``test_regressions.py``.

Every ordered result is totally ordered (``pk`` breaks the ties, then the annotations: a filter
mixing a multi-valued column with an aggregate is a HAVING that adds the column to GROUP BY,
and one pk then has several rows, which differ only in their aggregates), so lists are compared
as lists; results without a total order are compared as multisets.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.db import models as m
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    RowRange,
    StdDev,
    Subquery,
    Sum,
    Value,
    ValueRange,
    Variance,
    When,
    Window,
)
from django.db.models.expressions import WindowFrameExclusion
from django.db.models.functions import (
    Abs,
    Cast,
    Coalesce,
    Concat,
    CumeDist,
    DenseRank,
    ExtractMonth,
    ExtractYear,
    FirstValue,
    JSONObject,
    Lag,
    LastValue,
    Lead,
    Left,
    Length,
    Lower,
    Mod,
    NthValue,
    Ntile,
    NullIf,
    PercentRank,
    Rank,
    Replace,
    Right,
    RowNumber,
    StrIndex,
    Substr,
    Trim,
    Upper,
)
from hypothesis import strategies as st

from . import data
from .models import Author, Book, Publisher

MODELS = {"Book": Book, "Author": Author, "Publisher": Publisher}

# -- the schema as the generator sees it ----------------------------------------------------

#: model -> field -> kind (the kind picks lookups, values and the functions that apply).
FIELDS = {
    "Book": {
        "pk": "int",
        "title": "str",
        "blurb": "str",
        "pages": "int",
        "sales": "int",
        "price": "decimal",
        "score": "float",
        "in_print": "bool",
        "published": "date",
        "updated": "datetime",
        "code": "uuid",
        "publisher_id": "int",
        "editor_id": "int",
    },
    "Author": {
        "pk": "int",
        "name": "str",
        "nickname": "str",
        "age": "int",
        "rating": "float",
        "active": "bool",
        "born": "date",
        "uid": "uuid",
        "mentor_id": "int",
    },
    "Publisher": {"pk": "int", "name": "str", "country": "str", "founded": "date"},
}
#: Fields that are never NULL (Coalesce of them is pointless, isnull=False is everything).
NOT_NULL = {"pk", "title", "name", "in_print", "publisher_id"}
#: model -> relation -> (target model, multi-valued?).
RELATIONS = {
    "Book": {"publisher": ("Publisher", False), "editor": ("Author", False)}
    | {"authors": ("Author", True)},
    "Author": {
        "mentor": ("Author", False),
        "mentees": ("Author", True),
        "books": ("Book", True),
        "edited": ("Book", True),
    },
    "Publisher": {"books": ("Book", True)},
}
#: model -> (relation used with OuterRef('pk') from the other side, model of the subquery).
CORRELATED = {
    "Book": [("Author", "books"), ("Author", "edited"), ("Book", "pk")],
    "Author": [("Book", "editor"), ("Book", "authors"), ("Author", "mentor")],
    "Publisher": [("Book", "publisher")],
}

LOOKUPS = {
    "int": ["exact", "gt", "gte", "lt", "lte", "in", "range", "isnull"],
    "decimal": ["exact", "gt", "gte", "lt", "lte", "in", "range", "isnull"],
    "float": ["exact", "gt", "gte", "lt", "lte", "range", "isnull"],
    "str": [
        "exact",
        "iexact",
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "in",
        "gt",
        "lte",
        "isnull",
        "regex",
        "iregex",
    ],
    "bool": ["exact", "isnull"],
    "date": ["exact", "gt", "lte", "range", "in", "isnull", "year", "year__gt", "month"],
    "datetime": ["exact", "gt", "lt", "gte", "range", "isnull", "date", "year", "month"],
    "uuid": ["exact", "in", "isnull"],
}

_STR_VALUES = sorted(set(data.WORDS) | {"zo", "ë", "É", "ANN", "an", "%", "_", "."})
_STR_VALUES += ["b", "BOB", "жУк", "' ", "x", "Ω", "\\", "a%b"]
_REGEXES = ["^a", "^A", "n$", "[0-9]", "ë", "^$", "a.b", "^.{3}$", "[жЖ]", "o|é", "\\.", "^ ?p"]
VALUES = {
    "int": [v for v in data.INTS if v is not None] + [4, -100, 2**40, 2**53],
    "decimal": [v for v in data.DECIMALS if v is not None] + [Decimal("1.5"), Decimal(-3)],
    "float": [v for v in data.FLOATS if v is not None] + [1.0, -10.0],
    "str": _STR_VALUES,
    "bool": [True, False],
    "date": [v for v in data.DATES if v is not None] + [datetime.date(2021, 3, 4)],
    "datetime": [v for v in data.DATETIMES if v is not None]
    + [datetime.datetime(2020, 1, 1, 12, 30, 15, 122000, tzinfo=datetime.UTC)],
    "uuid": [v for v in data.UUIDS if v is not None] + [UUID(int=7)],
}


def lit(value):
    """Python source for a literal value."""
    if isinstance(value, datetime.datetime):
        return (
            f"datetime.datetime({value.year}, {value.month}, {value.day}, {value.hour}, "
            f"{value.minute}, {value.second}, {value.microsecond}, tzinfo=datetime.UTC)"
        )
    return repr(value)


# -- building blocks ------------------------------------------------------------------------


@st.composite
def field_path(draw, model, *, kinds=None, multi=True, depth=1):
    """(path, kind, crosses a multi-valued relation?) for a field of ``model`` or a relation."""
    prefix, current, crossed = "", model, False
    for _ in range(draw(st.integers(0, depth))):
        relations = {
            name: target for name, target in RELATIONS[current].items() if multi or not target[1]
        }
        if not relations:
            break
        name = draw(st.sampled_from(sorted(relations)))
        target, many = relations[name]
        prefix, current, crossed = f"{prefix}{name}__", target, crossed or many
    fields = {
        name: kind for name, kind in FIELDS[current].items() if kinds is None or kind in kinds
    }
    if not fields:
        fields = {name: kind for name, kind in FIELDS[model].items() if kind in kinds}
        fields = fields or {"pk": "int"}
        prefix, crossed = "", False
    name = draw(st.sampled_from(sorted(fields)))
    return prefix + name, fields[name], crossed


def value_of(kind):
    return st.sampled_from(VALUES[kind])


@st.composite
def lookup_leaf(draw, model, depth=1):
    """``path__lookup=value`` (or a comparison with F / an F expression)."""
    path, kind, _ = draw(field_path(model, depth=depth))
    shape = draw(st.integers(0, 9))
    if shape == 0:
        return f"{path}__isnull={draw(st.booleans())}"
    if shape == 1 and kind in ("int", "decimal", "float", "str", "date"):
        # Compare two columns of one kind, maybe through an FK.
        other, _, _ = draw(field_path(model, kinds={kind}, multi=False))
        if kind == "str":
            lookup = draw(st.sampled_from(["exact", "iexact", "contains", "istartswith", "lt"]))
            return f"{path}__{lookup}=F({other!r})"
        lookup = draw(st.sampled_from(["exact", "gt", "lte"]))
        rhs = f"F({other!r})"
        if kind in ("int", "decimal") and draw(st.booleans()):
            op = draw(st.sampled_from(["+", "-", "*"]))
            rhs = f"{rhs} {op} {draw(st.sampled_from([1, 2, -3]))}"
        return f"{path}__{lookup}={rhs}"
    lookup = draw(st.sampled_from(LOOKUPS[kind]))
    if lookup in ("exact", "iexact") and draw(st.integers(0, 9)) == 0:
        return f"{path}__{lookup}=None"
    if lookup == "isnull":
        return f"{path}__isnull={draw(st.booleans())}"
    if lookup in ("regex", "iregex"):
        return f"{path}__{lookup}={draw(st.sampled_from(_REGEXES))!r}"
    if lookup == "in":
        values = draw(st.lists(value_of(kind), min_size=0, max_size=4))
        if draw(st.integers(0, 9)) == 0:
            values.append(None)
        return f"{path}__in=[{', '.join(lit(v) for v in values)}]"
    if lookup == "range":
        low, high = sorted(draw(st.lists(value_of(kind), min_size=2, max_size=2)))
        return f"{path}__range=({lit(low)}, {lit(high)})"
    if lookup in ("year", "year__gt"):
        return f"{path}__{lookup}={draw(st.sampled_from([1970, 1999, 2000, 2020, 2024]))}"
    if lookup == "month":
        return f"{path}__month={draw(st.sampled_from([1, 2, 6, 12]))}"
    if lookup == "date":
        return f"{path}__date={lit(draw(value_of('date')))}"
    return f"{path}__{lookup}={lit(draw(value_of(kind)))}"


@st.composite
def subquery_leaf(draw, model):
    """``Exists(...)``, ``~Exists(...)`` or ``pk__in=<subquery>``."""
    inner, relation = draw(st.sampled_from(CORRELATED[model]))
    condition = draw(lookup_leaf(inner, depth=0))
    if draw(st.booleans()):
        negate = "~" if draw(st.booleans()) else ""
        return f"{negate}Exists({inner}.objects.filter({relation}=OuterRef('pk'), {condition}))"
    # pk__in a subquery of the related ids.
    target = {"Author": "Author", "Book": "Book", "Publisher": "Publisher"}[model]
    back = {
        ("Book", "Book"): "pk",
        ("Author", "Book"): "editor",
        ("Publisher", "Book"): "publisher",
        ("Author", "Author"): "mentor",
        ("Book", "Author"): "books",
    }.get((target, inner))
    if back is None:
        return f"Exists({inner}.objects.filter({relation}=OuterRef('pk'), {condition}))"
    return f"Q(pk__in={inner}.objects.filter({condition}).values({back!r}))"


@st.composite
def q_tree(draw, model, names=(), depth=2):
    """A Q object source: leaves combined with &, | and ~."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        kind = draw(st.integers(0, 9))
        if kind == 0:
            return draw(subquery_leaf(model))
        if kind == 1 and names:
            name, ann_kind = draw(st.sampled_from(names))
            lookup = draw(st.sampled_from(LOOKUPS.get(ann_kind, ["isnull"])[:6]))
            if lookup in ("in", "range", "iexact"):
                lookup = "isnull"
            if lookup == "isnull":
                return f"Q({name}__isnull={draw(st.booleans())})"
            return f"Q({name}__{lookup}={lit(draw(value_of(ann_kind)))})"
        return f"Q({draw(lookup_leaf(model))})"
    op = draw(st.sampled_from(["&", "|", "~"]))
    left = draw(q_tree(model, names, depth - 1))
    if op == "~":
        return f"~{_paren(left)}"
    right = draw(q_tree(model, names, depth - 1))
    return f"({left} {op} {right})"


def _paren(source):
    return source if source.startswith(("Q(", "(", "Exists(")) else f"({source})"


# -- annotations ----------------------------------------------------------------------------

AGGREGATE_KINDS = {"Sum": ("int", "decimal", "float"), "Avg": ("int", "decimal", "float")}
AGGREGATE_KINDS |= {
    "Min": ("int", "decimal", "float", "str", "date", "datetime"),
    "Max": ("int", "decimal", "float", "str", "date", "datetime"),
}


@st.composite
def aggregate_expr(draw, model, *, over_relation=True):
    """(source, result kind) of Count/Sum/Avg/Min/Max, maybe through a relation or filtered."""
    func = draw(st.sampled_from(["Count", "Sum", "Avg", "Min", "Max"]))
    if func == "Count":
        path, _, _ = draw(field_path(model, depth=1 if over_relation else 0))
        kind = "int"
        args = [repr(path)]
        if draw(st.booleans()):
            args.append("distinct=True")
    else:
        path, field_kind, _ = draw(
            field_path(model, kinds=AGGREGATE_KINDS[func], depth=1 if over_relation else 0)
        )
        kind = "float" if func == "Avg" and field_kind in ("int", "float") else field_kind
        args = [repr(path)]
    if draw(st.integers(0, 7)) == 0:
        args.append(f"filter={draw(q_tree(model, depth=1))}")
    return f"{func}({', '.join(args)})", kind


@st.composite
def scalar_expr(draw, model):
    """(source, result kind) of a per-row expression: functions, arithmetic, subqueries."""
    choice = draw(st.integers(0, 12))
    if choice <= 2:
        path, _, _ = draw(field_path(model, kinds={"str"}, multi=False))
        func = draw(
            st.sampled_from(["Lower", "Upper", "Length", "Trim", "Left", "Right", "Substr"])
        )
        if func in ("Left", "Right"):
            return f"{func}({path!r}, {draw(st.integers(1, 3))})", "str"
        if func == "Substr":
            return f"Substr({path!r}, {draw(st.integers(1, 3))}, 2)", "str"
        return f"{func}({path!r})", "int" if func == "Length" else "str"
    if choice == 3:
        path, _, _ = draw(field_path(model, kinds={"str"}, multi=False))
        # A number concatenated is its text (SQL's ||; compiler/functions.py's _as_text).
        other, _, _ = draw(field_path(model, kinds={"str", "int"}, multi=False))
        sep = draw(st.sampled_from(["-", "", "é"]))
        return f"Concat({path!r}, Value({sep!r}), {other!r}, output_field=m.TextField())", "str"
    if choice == 4:
        path, kind, _ = draw(field_path(model, multi=False))
        if kind == "str" and draw(st.booleans()):
            fallback = "Value('?')"
        elif kind == "bool":
            fallback = "Value(False)"
        else:
            fallback = f"Value({lit(draw(value_of(kind)))})"
        return f"Coalesce({path!r}, {fallback})", kind
    if choice == 5:
        path, kind, _ = draw(field_path(model, kinds={"int", "decimal", "float"}, multi=False))
        op = draw(st.sampled_from(["+", "-", "*", "/", "%"]))
        number = draw(st.sampled_from([1, 2, 3, -2]))
        if kind == "decimal":
            number = f"Decimal('{number}')"
        elif kind == "float":
            number = f"{number}.0"
            op = op if op != "%" else "+"
        if op == "/" and draw(st.booleans()):
            return f"F({path!r}) / {number}", kind
        other, _, _ = draw(field_path(model, kinds={kind}, multi=False))
        return f"F({path!r}) {op} {number} + F({other!r})", kind
    if choice == 6:
        path, kind, _ = draw(field_path(model, kinds={"int"}, multi=False))
        func = draw(st.sampled_from(["Abs", "Mod", "NullIf"]))
        if func == "Abs":
            return f"Abs({path!r})", kind
        if func == "Mod":
            return f"Mod({path!r}, Value({draw(st.sampled_from([2, 3, -3]))}))", "float"
        return f"NullIf({path!r}, Value({draw(st.sampled_from([0, 2]))}))", kind
    if choice == 7:
        path, _, _ = draw(field_path(model, kinds={"str"}, multi=False))
        needle = draw(st.sampled_from(["a", "ë", "N", "b", ""]))
        if draw(st.booleans()):
            return f"StrIndex({path!r}, Value({needle!r}))", "int"
        return f"Replace({path!r}, Value({needle!r}), Value('_'))", "str"
    if choice == 8:
        path, _, _ = draw(field_path(model, kinds={"date", "datetime"}, multi=False))
        func = draw(st.sampled_from(["ExtractYear", "ExtractMonth"]))
        return f"{func}({path!r})", "int"
    if choice == 9:
        inner, relation = draw(st.sampled_from(CORRELATED[model]))
        condition = draw(lookup_leaf(inner, depth=0))
        return f"Exists({inner}.objects.filter({relation}=OuterRef('pk'), {condition}))", "bool"
    if choice == 10:
        inner, relation = draw(st.sampled_from(CORRELATED[model]))
        field, kind, _ = draw(field_path(inner, depth=0))
        direction = draw(st.sampled_from(["", "-"]))
        return (
            f"Subquery({inner}.objects.filter({relation}=OuterRef('pk'))"
            f".order_by('{direction}{field}', 'pk').values({field!r})[:1])"
        ), kind
    if choice == 11:
        # A float's SQL text; a JSON object of columns that an outer join may leave missing.
        if draw(st.booleans()):
            path, _, _ = draw(field_path(model, kinds={"float"}, multi=False))
            return f"Cast({path!r}, m.CharField())", "str"
        path, _, _ = draw(field_path(model, kinds={"str", "int"}, multi=False, depth=2))
        return f"JSONObject(k={path!r}, n=Value(1))", "json"
    condition = draw(q_tree(model, depth=1))
    return f"Case(When({condition}, then=Value(1)), default=Value(0))", "int"


# -- querysets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """A generated queryset: its source and whether its result has a total order."""

    source: str
    ordered: bool

    def __str__(self):
        return self.source


@st.composite
def base_chain(draw, *, aggregates=True):
    """(model, chain source, annotation (name, kind) pairs)."""
    model = draw(st.sampled_from(["Book", "Book", "Author", "Publisher"]))
    parts = [f"{model}.objects"]
    names = []
    for index in range(draw(st.integers(0, 2))):
        if aggregates and draw(st.booleans()):
            expr, kind = draw(aggregate_expr(model))
        else:
            expr, kind = draw(scalar_expr(model))
        name = f"a{index}"
        parts.append(f".annotate({name}={expr})")
        if kind != "json":  # JSON orders and compares differently in SQLite: only read back
            names.append((name, kind))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 1, 2]))):
        method = draw(st.sampled_from(["filter", "filter", "exclude"]))
        parts.append(f".{method}({draw(q_tree(model, tuple(names)))})")
    return model, "".join(parts), names


@st.composite
def order_keys(draw, model, names):
    keys = []
    for _ in range(draw(st.integers(0, 2))):
        if names and draw(st.integers(0, 3)) == 0:
            path = draw(st.sampled_from(names))[0]
        else:
            path, _, _ = draw(field_path(model, multi=False))
        style = draw(st.integers(0, 5))
        if style == 0:
            keys.append(f"F({path!r}).asc(nulls_last=True)")
        elif style == 1:
            keys.append(f"F({path!r}).desc(nulls_first=True)")
        else:
            keys.append(repr(("-" if style == 2 else "") + path))
    return keys


@st.composite
def slice_source(draw):
    shape = draw(st.integers(0, 4))
    if shape == 0:
        return f"[:{draw(st.integers(0, 5))}]"
    if shape == 1:
        low = draw(st.integers(0, 8))
        return f"[{low}:{low + draw(st.integers(0, 5))}]"
    if shape == 2:
        return f"[{draw(st.integers(0, 40))}:]"
    return ""


def _tie_breakers(names):
    """The last keys of a total order: ``pk``, then the annotations (several rows of one pk, see
    the module's docstring, differ only in them)."""
    return ["'pk'", *(repr(name) for name, _kind in names)]


@st.composite
def row_querysets(draw):
    """Model instances (maybe select_related), totally ordered and maybe sliced."""
    model, chain, names = draw(base_chain())
    if draw(st.booleans()):
        related = [name for name, (_, many) in RELATIONS[model].items() if not many]
        if related:
            picked = draw(st.lists(st.sampled_from(related), unique=True, min_size=1, max_size=2))
            chain += f".select_related({', '.join(repr(r) for r in picked)})"
    if draw(st.integers(0, 3)) == 0:
        # No ordering at all: a multiset.
        return Spec(chain, ordered=False)
    keys = [*draw(order_keys(model, names)), *_tie_breakers(names)]
    chain += f".order_by({', '.join(keys)})"
    if draw(st.booleans()):
        chain += ".distinct()"
    return Spec(chain + draw(slice_source()), ordered=True)


@st.composite
def values_querysets(draw):
    """values()/values_list() of fields, related fields and annotations."""
    model, chain, names = draw(base_chain())
    # Two steps reach a reverse join after an outer join that may find nothing
    # (``editor__edited__title``), which must never join on the missing key.
    drawn = [draw(field_path(model, multi=draw(st.booleans()), depth=2)) for _ in range(3)]
    paths = [path for path, _, _ in drawn]
    paths += [name for name, _ in names if draw(st.booleans())]
    paths = list(dict.fromkeys(paths))[: draw(st.integers(1, 4))]
    # Several rows per pk (a multi-valued path) have no total order: compare as a multiset.
    multi = any(crossed for path, _, crossed in drawn if path in paths)
    style = draw(st.integers(0, 3))
    args = ", ".join(repr(p) for p in paths)
    if style == 0:
        chain += f".values({args})"
    elif style == 1 and len(paths) == 1:
        chain += f".values_list({args}, flat=True)"
    else:
        chain += f".values_list({args})"
    if draw(st.booleans()):
        # Distinct rows in a total order of the selected values.
        keys = [(("-" if draw(st.booleans()) else "") + p) for p in paths]
        chain += f".distinct().order_by({', '.join(repr(k) for k in keys)})"
        return Spec(chain + draw(slice_source()), ordered=True)
    if not multi and draw(st.booleans()):
        keys = [*draw(order_keys(model, names)), *_tie_breakers(names)]
        chain += f".order_by({', '.join(keys)})"
        return Spec(chain + draw(slice_source()), ordered=True)
    return Spec(chain, ordered=False)


@st.composite
def grouped_querysets(draw):
    """values(group).annotate(aggregates): GROUP BY, with HAVING and group ordering."""
    model, chain, _ = draw(base_chain(aggregates=False))
    group = list(
        dict.fromkeys(
            draw(field_path(model, multi=False, depth=2))[0] for _ in range(draw(st.integers(1, 2)))
        )
    )
    chain += f".values({', '.join(repr(g) for g in group)})"
    names = []
    for index in range(draw(st.integers(1, 3))):
        expr, kind = draw(aggregate_expr(model))
        chain += f".annotate(g{index}={expr})"
        names.append((f"g{index}", kind))
    having = draw(q_tree(model, tuple(names), depth=1)) if draw(st.booleans()) else None
    if having is not None:
        chain += f".filter({having})"
    keys = [repr(g) for g in group]
    if draw(st.booleans()):
        keys.insert(0, repr("-" + draw(st.sampled_from(names))[0]))
    chain += f".order_by({', '.join(keys)})"
    if having is not None and not _aggregates_only(having):
        # A filter mixing columns with aggregates (Q(price__gt=...) | Q(g0__gt=...)) is a
        # HAVING that adds its columns to GROUP BY: several rows may share the group keys,
        # so the order is not total and neither the order of ties nor a slice is defined.
        return Spec(chain, ordered=False)
    return Spec(chain + draw(slice_source()), ordered=True)


def _aggregates_only(q_source):
    """Whether every leaf of a ``q_tree`` source filters an annotation ``g<n>``."""
    leaves = re.findall(r"(?:^|[(~|& ])Q\((\w+?)__", q_source)
    return (
        bool(leaves)
        and all(re.fullmatch(r"g\d+", leaf) for leaf in leaves)
        and (q_source.count("Q(") == len(leaves))
    )


@st.composite
def scalar_querysets(draw):
    """count(), exists(), aggregate(), first-row lookups: one value per queryset."""
    model, chain, names = draw(base_chain())
    terminal = draw(st.integers(0, 5))
    if terminal == 0:
        return Spec(chain + draw(slice_source()) + ".count()", ordered=True)
    if terminal == 1:
        return Spec(chain + draw(slice_source()) + ".exists()", ordered=True)
    if terminal == 2 and names:
        name, _ = draw(st.sampled_from(names))
        func = draw(st.sampled_from(["Min", "Max", "Count"]))
        return Spec(chain + f".aggregate(x={func}({name!r}))", ordered=True)
    if terminal == 3:
        # Only the pk of the first row is determined: rows that a multi-valued join
        # duplicates tie on the order keys and may differ in their annotations.
        keys = [*draw(order_keys(model, names)), "'pk'"]
        return Spec(
            chain + f".order_by({', '.join(keys)}).values_list('pk', flat=True).first()",
            ordered=True,
        )
    aggregates = [draw(aggregate_expr(model))[0] for _ in range(draw(st.integers(1, 3)))]
    args = ", ".join(f"x{i}={a}" for i, a in enumerate(aggregates))
    return Spec(chain + f".aggregate({args})", ordered=True)


# -- window expressions ---------------------------------------------------------------------

#: Window functions whose value does not depend on the order of peers (rows equal on every
#: ORDER BY key): they run on the drawn order as it is, ties and all, which is where SQL's
#: peer rules show. The others get ``pk`` as the last ORDER BY key, a total order.
PEER_STABLE = ("Rank()", "DenseRank()", "PercentRank()", "CumeDist()")


@st.composite
def window_function(draw, model):
    """(source, kind, stable under ties?) of a window function or an aggregate over a window."""
    choice = draw(st.integers(0, 9))
    if choice <= 1:
        return draw(st.sampled_from(PEER_STABLE)), "float", True
    if choice == 2:
        return (
            draw(st.sampled_from(["RowNumber()", f"Ntile({draw(st.integers(1, 7))})"])),
            "int",
            False,
        )
    if choice <= 4:
        path, kind, _ = draw(field_path(model, multi=False, depth=0))
        func = draw(st.sampled_from(["Lag", "Lead"]))
        args = [repr(path)]
        if draw(st.booleans()):
            args.append(str(draw(st.integers(1, 3))))
            if kind == "int" and draw(st.booleans()):
                args.append("Value(-1)")
        return f"{func}({', '.join(args)})", kind, False
    if choice == 5:
        path, kind, _ = draw(field_path(model, multi=False, depth=0))
        func = draw(st.sampled_from(["FirstValue", "LastValue", "NthValue"]))
        extra = f", {draw(st.integers(1, 3))}" if func == "NthValue" else ""
        return f"{func}({path!r}{extra})", kind, False
    source, kind = draw(aggregate_expr(model, over_relation=False))
    # No DISTINCT over a window (SQL refuses it), and no filter: the oracle's FILTER under a
    # window frame is unreliable (SQLite ignored it over RANGE frames: MIN(blurb) FILTER
    # (WHERE editor_id > 2) gave a blurb of a row without an editor), and a filter matching
    # nothing makes Django write the column as 0 on SQL backends (an EmptyResultSet of the
    # Window, which has no empty_result_set_value). tests/compiler/test_windows.py has
    # filtered windows whose frame is the whole partition.
    source = source.replace(", distinct=True", "")
    if ", filter=" in source:
        source = source[: source.index(", filter=")] + ")"
    return source, kind, True


@st.composite
def exclusion(draw):
    """A frame's EXCLUDE clause (as its keyword argument), or nothing."""
    if draw(st.integers(0, 2)):
        return ""
    name = draw(st.sampled_from(["CURRENT_ROW", "GROUP", "TIES", "NO_OTHERS"]))
    return f", exclusion=WindowFrameExclusion.{name}"


@st.composite
def window_frame(draw, function, order, numeric_order):
    """(the frame argument with its leading comma or nothing, whether it frames rows by
    position (then the order of peers matters), whether it has value offsets)."""
    if not function.startswith(("Count", "Sum", "Avg", "Min", "Max", "First", "Last", "Nth")):
        return "", False, False
    choice = draw(st.integers(0, 5))
    if choice <= 1 or not order:
        return "", False, False
    if choice == 2:
        start = draw(st.sampled_from([None, -2, -1, 0, 1]))
        end = draw(st.sampled_from([None, -1, 0, 1, 2]))
        if start is not None and end is not None and start > end:
            start, end = end, start
        return f", frame=RowRange({start}, {end}{draw(exclusion())})", True, False
    if choice == 3 or not numeric_order:
        start, end = draw(st.sampled_from([(None, 0), (None, None), (0, None), (0, 0)]))
        return f", frame=ValueRange({start}, {end}{draw(exclusion())})", False, False
    start = draw(st.sampled_from([None, -3, -1, 0]))
    end = draw(st.sampled_from([None, 0, 2, 5]))
    return f", frame=ValueRange({start}, {end}{draw(exclusion())})", False, True


@st.composite
def window_querysets(draw):
    """Window expressions (PARTITION BY, ORDER BY with ties and NULLs, frames), maybe filtered
    on (QUALIFY), read in pk order."""
    model = draw(st.sampled_from(["Book", "Book", "Author", "Publisher"]))
    names, annotations = [], []
    for index in range(draw(st.integers(1, 2))):
        function, kind, stable = draw(window_function(model))
        partition = [
            draw(field_path(model, multi=False, depth=1))[0] for _ in range(draw(st.integers(0, 2)))
        ]
        numeric_order = False
        if draw(st.integers(0, 3)) == 0:
            # One ascending number: a ValueRange with offsets applies.
            path = draw(
                st.sampled_from(["pk", *(f for f, k in FIELDS[model].items() if k == "int")])
            )
            order, numeric_order = [repr(path)], True
        else:
            order = draw(order_keys(model, []))
        frame, by_rows, offsets = draw(window_frame(function, order, numeric_order))
        if (not stable or by_rows) and order[-1:] != ["'pk'"]:
            order = [*order, "'pk'"]  # a total order
        if offsets and len(order) != 1:
            frame = ""  # value offsets need one ascending number
        arguments = [function]
        if partition:
            arguments.append(f"partition_by={list(dict.fromkeys(partition))!r}")
        if order:
            arguments.append(f"order_by=[{', '.join(order)}]")
        if "ValueRange(" in frame and len(order) != 1:
            frame = ""
        annotations.append(f"w{index}=Window({', '.join(arguments)}{frame})")
        names.append((f"w{index}", kind))
    chain = f"{model}.objects.annotate({', '.join(annotations)})"
    if draw(st.integers(0, 2)) == 0:
        name, kind = draw(st.sampled_from(names))
        if kind == "int":
            chain += f".filter({name}__lte={draw(st.integers(0, 4))})"
        else:
            chain += f".filter({name}__isnull={draw(st.booleans())})"
    columns = ", ".join(repr(name) for name, _ in names)
    return Spec(f"{chain}.values_list('pk', {columns}).order_by('pk')", ordered=True)


# -- running and comparing ------------------------------------------------------------------


class _Bound:
    """A model whose ``objects`` manager reads from one alias."""

    def __init__(self, model, alias):
        self.objects = model._default_manager.db_manager(alias)


#: The names a generated source may use (besides the models).
NAMESPACE = {
    "Avg": Avg,
    "Case": Case,
    "Count": Count,
    "Exists": Exists,
    "F": F,
    "Max": Max,
    "Min": Min,
    "OuterRef": OuterRef,
    "Q": Q,
    "Subquery": Subquery,
    "Sum": Sum,
    "Value": Value,
    "When": When,
    "Window": Window,
    "WindowFrameExclusion": WindowFrameExclusion,
    "RowRange": RowRange,
    "ValueRange": ValueRange,
    "StdDev": StdDev,
    "Variance": Variance,
    "CumeDist": CumeDist,
    "DenseRank": DenseRank,
    "FirstValue": FirstValue,
    "Lag": Lag,
    "LastValue": LastValue,
    "Lead": Lead,
    "NthValue": NthValue,
    "Ntile": Ntile,
    "PercentRank": PercentRank,
    "Rank": Rank,
    "RowNumber": RowNumber,
    "Abs": Abs,
    "Cast": Cast,
    "Coalesce": Coalesce,
    "Concat": Concat,
    "ExtractMonth": ExtractMonth,
    "ExtractYear": ExtractYear,
    "JSONObject": JSONObject,
    "Left": Left,
    "Length": Length,
    "Lower": Lower,
    "Mod": Mod,
    "NullIf": NullIf,
    "Replace": Replace,
    "Right": Right,
    "StrIndex": StrIndex,
    "Substr": Substr,
    "Trim": Trim,
    "Upper": Upper,
    "Decimal": Decimal,
    "UUID": UUID,
    "datetime": datetime,
    "m": m,
}


def namespace(alias):
    return {**NAMESPACE, **{name: _Bound(model, alias) for name, model in MODELS.items()}}


def evaluate(source, alias):
    """The result of ``source`` on ``alias``, materialised."""
    result = eval(source, namespace(alias))  # the generator's own text, never user input
    if hasattr(result, "query") and hasattr(result, "iterator"):
        return list(result)
    return result


def queryset_of(source, alias):
    """The QuerySet part of ``source`` (before a terminal call), for ``str(qs.query)``."""
    for terminal in (".count()", ".exists()", ".first()"):
        source = source.removesuffix(terminal)
    if ".aggregate(" in source:
        source = source[: source.rindex(".aggregate(")]
    return eval(source, namespace(alias))
