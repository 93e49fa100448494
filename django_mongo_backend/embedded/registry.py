"""Every change the server layer makes to mongoeco, each named with its target, rule and test.

mongoeco is a library with its own idea of MongoDB; the server layer corrects it where it differs
from MongoDB 7.0, adds faster paths where it scans, and adapts it to serve a process. All of it
replaces mongoeco internals by name, so it is only right for the release it was written against
(``MONGOECO_VERSION``). Every such change goes through this module:

- ``replace(owner, name, ...)`` sets an attribute of a mongoeco module or class (or wraps the
  one there); ``replace_item`` does the same for one entry of a mongoeco table (a dict), and
  ``extend`` adds entries to one;
  ``rebind`` replaces a function and every mongoeco module's own binding of it (``from x import
  f`` copies ``f`` into the importing module); ``operator`` registers an aggregation expression
  operator with mongoeco's extension registry (which its evaluator consults first);
- each records a ``Patch``: its ``kind``, its ``target`` (a dotted path), the MongoDB ``rule``
  it implements (or the reason for it) in one line, and the ``test`` that shows it
  (``tests/embedded/test_x.py::test_y``);
- the first one checks the installed mongoeco (``check_mongoeco``), and each refuses a target
  that does not exist: an upgrade of mongoeco that renames or removes something we patch fails
  loudly, naming it, instead of serving MongoDB's rule wrongly;
- installing twice changes nothing: a patch already recorded (same target, same rule) is not
  applied again, so a wrapper never wraps itself.

``python -m django_mongo_backend.embedded --list-patches`` prints the registry;
docs/embedded-server.rst says how to review an upgrade of mongoeco with it.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field

from . import MONGOECO_VERSION

logger = logging.getLogger("django_mongo_backend.embedded")

#: The kinds of patch, which also say where each belongs in the package's layout.
CORRECTION = "correction"
PERFORMANCE = "performance"
SERVER = "server"
KINDS = {
    CORRECTION: "mongoeco evaluates, stores or refuses unlike MongoDB 7.0: do as MongoDB does",
    PERFORMANCE: "same results as mongoeco's own path, without its full scans",
    SERVER: "what serving a process needs: modes, topology, sessions, wire surface",
}

#: Set it to the installed mongoeco version to run the server layer on that release anyway
#: (to try an upgrade): a loud warning is logged, and every missing target still fails.
VERSION_OVERRIDE_VARIABLE = "DJANGO_MONGO_EMBEDDED_MONGOECO"


class MongoecoVersionError(RuntimeError):
    """The installed mongoeco is not the release the server layer is written for."""


class MissingTarget(RuntimeError):
    """A patch's target does not exist in the installed mongoeco."""


@dataclass(frozen=True, slots=True)
class Patch:
    """One change made to mongoeco."""

    kind: str
    #: The dotted path of what is replaced, e.g. ``mongoeco.engines.sqlite.SQLiteEngine._x``.
    target: str
    #: The MongoDB rule implemented (or the reason for the change), in one line.
    rule: str
    #: ``tests/embedded/test_x.py::test_y`` (or a test file) showing the rule holds.
    test: str
    #: The server-layer module that made the change.
    module: str
    #: Other mongoeco modules whose binding of the target was replaced too (``rebind``).
    also: tuple[str, ...] = field(default=())


_patches: dict[tuple[str, str], Patch] = {}
_checked_version: str | None = None


def check_mongoeco():
    """The installed mongoeco's version, when it is ``MONGOECO_VERSION``; else
    ``MongoecoVersionError``, unless ``VERSION_OVERRIDE_VARIABLE`` names the installed version
    (then a warning). Checked once per process."""
    global _checked_version
    if _checked_version is not None:
        return _checked_version
    import mongoeco

    installed = mongoeco.__version__
    if installed != MONGOECO_VERSION:
        if os.environ.get(VERSION_OVERRIDE_VARIABLE) != installed:
            raise MongoecoVersionError(
                f"mongoeco {installed} is installed, but the embedded server "
                f"(django_mongo_backend.embedded) is written for mongoeco {MONGOECO_VERSION}: "
                "it replaces mongoeco internals by name and would not serve MongoDB's rules "
                f"reliably on another release. Install mongoeco=={MONGOECO_VERSION}, or, to try "
                f"mongoeco {installed} deliberately, set {VERSION_OVERRIDE_VARIABLE}={installed} "
                "(see docs/embedded-server.rst)."
            )
        logger.warning(
            "UNTESTED mongoeco %s: the embedded server is written for mongoeco %s and runs on "
            "%s only because %s is set; its answers may differ from MongoDB's",
            installed,
            MONGOECO_VERSION,
            installed,
            VERSION_OVERRIDE_VARIABLE,
        )
    _checked_version = installed
    return installed


def path_of(owner, name=None):
    """The dotted path of ``owner`` (a module or a class), or of its attribute ``name``."""
    is_class = isinstance(owner, type)
    path = f"{owner.__module__}.{owner.__qualname__}" if is_class else owner.__name__
    return path if name is None else f"{path}.{name}"


def patches():
    """Every patch applied so far, in the order they were applied."""
    return tuple(_patches.values())


def replace(owner, name, replacement=None, *, wrap=None, rule, test, kind=CORRECTION):
    """Set ``owner.name`` to ``replacement``, or to ``wrap(current value)``; return the value it
    replaced (the first time: a second call changes nothing and returns that value again)."""
    target = path_of(owner, name)

    def apply():
        if not hasattr(owner, name):
            return _NOT_FOUND
        current = getattr(owner, name)
        setattr(owner, name, wrap(current) if wrap is not None else replacement)
        return current

    return _record(target, kind, rule, test, apply, replacement, wrap)


def replace_item(owner, table, key, replacement=None, *, wrap=None, rule, test, kind=CORRECTION):
    """``replace`` for the entry ``key`` of the dict ``owner.table``."""
    target = f"{path_of(owner, table)}[{key!r}]"

    def apply():
        mapping = getattr(owner, table, None)
        if not isinstance(mapping, dict) or key not in mapping:
            return _NOT_FOUND
        current = mapping[key]
        mapping[key] = wrap(current) if wrap is not None else replacement
        return current

    return _record(target, kind, rule, test, apply, replacement, wrap)


def extend(owner, table, entries, *, rule, test, kind=CORRECTION):
    """Add ``entries`` to the dict ``owner.table`` in place, keeping the entries it has (other
    modules may hold the same dict); return the keys added."""
    target = path_of(owner, table)

    def apply():
        mapping = getattr(owner, table, None)
        if not isinstance(mapping, dict):
            return _NOT_FOUND
        added = tuple(key for key in entries if key not in mapping)
        for key in added:
            mapping[key] = entries[key]
        return added

    return _record(target, kind, rule, test, apply, entries, None)


def rebind(owner, name, replacement, *, rule, test, kind=CORRECTION, prefix="mongoeco"):
    """Replace ``owner.name`` and every binding of the same object under the same name in the
    loaded modules whose name starts with ``prefix``; return the value it replaced."""
    target = path_of(owner, name)
    if (target, rule) in _patches:
        return _originals[target, rule]
    _validate(kind, rule, test, replacement, None)
    check_mongoeco()
    if not hasattr(owner, name):
        raise _missing(target, rule, test)
    original = getattr(owner, name)
    rebound = []
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith(prefix) or module is None:
            continue
        if module.__dict__.get(name) is original:
            setattr(module, name, replacement)
            if module is not owner:
                rebound.append(module_name)
    _store(Patch(kind, target, rule, test, _caller(), tuple(rebound)), original)
    return original


def operator(name, handler, *, rule, test, kind=CORRECTION):
    """Register ``handler`` as the aggregation expression operator ``name`` (``$sin``...):
    mongoeco's evaluator consults its extension registry before its own operator tables, so
    this adds an operator or replaces mongoeco's."""
    from mongoeco.core.aggregation import extensions

    target = f"{path_of(extensions, '_expression_handlers')}[{name!r}]"

    def apply():
        previous = extensions.get_registered_aggregation_expression_operator(name)
        extensions.register_aggregation_expression_operator(name, handler)
        return previous

    return _record(target, kind, rule, test, apply, handler, None)


# -- bookkeeping -------------------------------------------------------------------------------

_NOT_FOUND = object()
_originals: dict[tuple[str, str], object] = {}


def _record(target, kind, rule, test, apply, replacement, wrap):
    if (target, rule) in _patches:
        return _originals[target, rule]
    _validate(kind, rule, test, replacement, wrap)
    check_mongoeco()
    original = apply()
    if original is _NOT_FOUND:
        raise _missing(target, rule, test)
    _store(Patch(kind, target, rule, test, _caller()), original)
    return original


def _validate(kind, rule, test, replacement, wrap):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    if not rule or not rule.strip() or "\n" in rule:
        raise ValueError("a patch needs its rule: one line naming the MongoDB rule or the reason")
    if not test or not test.startswith("tests/"):
        raise ValueError(f"a patch needs its test (tests/...py[::name]), not {test!r}")
    if (replacement is None) == (wrap is None):
        raise ValueError("give a replacement or a wrap (one of them)")


def _store(patch, original):
    _patches[patch.target, patch.rule] = patch
    _originals[patch.target, patch.rule] = original


def _missing(target, rule, test):
    import mongoeco

    return MissingTarget(
        f"{target} does not exist in mongoeco {mongoeco.__version__}; the embedded server, "
        f"written for mongoeco {MONGOECO_VERSION}, replaces it for: {rule} ({test}). "
        "Find where the new release does this and move the patch there."
    )


def _caller():
    """The module that asked for the patch: the first frame outside this module."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "?") if frame is not None else "?"


def table():
    """The registry as rows of (kind, target, rule, test), grouped by kind."""
    order = list(KINDS)
    rows = sorted(patches(), key=lambda patch: order.index(patch.kind))
    return [(patch.kind, patch.target, patch.rule, patch.test) for patch in rows]
