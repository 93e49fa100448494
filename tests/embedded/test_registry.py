"""The registry of what the server layer changes in mongoeco (``embedded/registry.py``).

Every patch names its target, the MongoDB rule it implements and its test; the layer runs only
on the mongoeco release it is written for, and a target missing from mongoeco fails loudly.
These tests check the registry itself, not MongoDB behaviour: they need no server.
"""

from __future__ import annotations

import ast
import importlib
import io
import logging
import pkgutil
import re
import types
from pathlib import Path

import pytest

mongoeco = pytest.importorskip("mongoeco")

from django_mongo_backend.embedded import MONGOECO_VERSION, registry  # noqa: E402
from django_mongo_backend.embedded import __main__ as cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

#: The server-layer modules whose every change to mongoeco goes through the registry, each
#: with an ``install()`` (operators installs strings, missing and regex).
REGISTERED_MODULES = (
    "corrections.operators",
    "performance.fastpaths",
    "performance.joins",
    "corrections.comparisons",
    "corrections.updates",
    "corrections.catalog",
    "corrections.limits",
    "server.ordering",
    "corrections.storage_rules",
    "corrections.index_identity",
    "corrections.error_codes",
    "server.replica_set",
    "corrections.ttl_monitor",
    "corrections.explain",
)
#: Modules whose patches another module's install() applies.
INSTALLED_BY_OPERATORS = ("corrections.strings", "corrections.missing", "corrections.regex")
#: The subpackage of ``embedded/`` whose modules make each kind of patch (docs/embedded-server.rst,
#: "Layout"): a reviewer of a mongoeco upgrade reads the corrections apart from the rest.
PACKAGE_OF_KIND = {
    registry.CORRECTION: "corrections",
    registry.PERFORMANCE: "performance",
    registry.SERVER: "server",
}


@pytest.fixture
def empty_registry(monkeypatch):
    """A registry of its own for a test that registers made-up patches."""
    monkeypatch.setattr(registry, "_patches", {})
    monkeypatch.setattr(registry, "_originals", {})


@pytest.fixture
def unchecked(monkeypatch):
    """The version gate forgets its verdict (it checks once per process)."""
    monkeypatch.setattr(registry, "_checked_version", None)
    monkeypatch.delenv(registry.VERSION_OVERRIDE_VARIABLE, raising=False)


def installed_registry():
    """The registry as the server process has it: importing the server applies every patch."""
    importlib.import_module("django_mongo_backend.embedded.server.wire")
    return registry.patches()


# -- the version gate ------------------------------------------------------------------------


def test_the_pinned_mongoeco_passes_the_gate(unchecked):
    assert mongoeco.__version__ == MONGOECO_VERSION
    assert registry.check_mongoeco() == MONGOECO_VERSION


def test_another_mongoeco_version_is_refused_naming_both(unchecked, monkeypatch):
    monkeypatch.setattr(mongoeco, "__version__", "4.12.0")
    with pytest.raises(registry.MongoecoVersionError) as raised:
        registry.check_mongoeco()
    message = str(raised.value)
    assert "mongoeco 4.12.0 is installed" in message
    assert f"written for mongoeco {MONGOECO_VERSION}" in message
    assert f"{registry.VERSION_OVERRIDE_VARIABLE}=4.12.0" in message


def test_the_override_must_name_the_installed_version(unchecked, monkeypatch):
    monkeypatch.setattr(mongoeco, "__version__", "4.12.0")
    monkeypatch.setenv(registry.VERSION_OVERRIDE_VARIABLE, "4.13.0")
    with pytest.raises(registry.MongoecoVersionError):
        registry.check_mongoeco()


def test_the_override_runs_another_version_with_a_loud_warning(unchecked, monkeypatch, caplog):
    monkeypatch.setattr(mongoeco, "__version__", "4.12.0")
    monkeypatch.setenv(registry.VERSION_OVERRIDE_VARIABLE, "4.12.0")
    with caplog.at_level(logging.WARNING, logger="django_mongo_backend.embedded"):
        assert registry.check_mongoeco() == "4.12.0"
    assert any(
        record.levelno == logging.WARNING and "UNTESTED mongoeco 4.12.0" in record.getMessage()
        for record in caplog.records
    )


def test_the_gate_runs_before_any_patch(unchecked, empty_registry, monkeypatch):
    owner = types.ModuleType("mongoeco_stand_in")
    owner.function = original = object()
    monkeypatch.setattr(mongoeco, "__version__", "4.12.0")
    with pytest.raises(registry.MongoecoVersionError):
        registry.replace(owner, "function", object(), rule="a rule", test="tests/embedded")
    assert owner.function is original
    assert registry.patches() == ()


# -- targets and idempotence -----------------------------------------------------------------


def test_a_missing_target_is_refused_naming_it(empty_registry):
    owner = types.ModuleType("mongoeco_stand_in")
    with pytest.raises(registry.MissingTarget) as raised:
        registry.replace(owner, "absent", object(), rule="a rule", test="tests/embedded")
    message = str(raised.value)
    assert "mongoeco_stand_in.absent does not exist" in message
    assert MONGOECO_VERSION in message
    assert not hasattr(owner, "absent")
    assert registry.patches() == ()


def test_a_missing_table_entry_is_refused_naming_it(empty_registry):
    owner = types.ModuleType("mongoeco_stand_in")
    owner.TABLE = {"$a": 1}
    with pytest.raises(registry.MissingTarget, match=re.escape("TABLE['$b'] does not exist")):
        registry.replace_item(owner, "TABLE", "$b", 2, rule="a rule", test="tests/embedded")
    assert owner.TABLE == {"$a": 1}


def test_installing_twice_changes_nothing(empty_registry):
    owner = types.ModuleType("mongoeco_stand_in")

    def function():
        return 1

    owner.function = function

    def wrap(original):
        def wrapped():
            return original() + 1

        return wrapped

    def install():
        return registry.replace(
            owner, "function", wrap=wrap, rule="adds one", test="tests/embedded", kind="correction"
        )

    assert install() is function
    installed = owner.function
    assert install() is function
    assert owner.function is installed
    assert owner.function() == 2
    (patch,) = registry.patches()
    assert patch.target == "mongoeco_stand_in.function"
    assert patch.module == __name__


def test_extend_adds_entries_in_place_keeping_the_tables_own(empty_registry):
    owner = types.ModuleType("mongoeco_stand_in")
    owner.TABLE = table = {1: "mongoeco's"}
    added = registry.extend(
        owner, "TABLE", {1: "ours", 2: "ours"}, rule="a rule", test="tests/embedded"
    )
    assert added == (2,)
    assert owner.TABLE is table
    assert table == {1: "mongoeco's", 2: "ours"}
    assert registry.extend(owner, "TABLE", {3: "ours"}, rule="a rule", test="tests/embedded") == (
        2,
    )
    assert 3 not in table
    with pytest.raises(
        registry.MissingTarget, match=re.escape("mongoeco_stand_in.ABSENT does not exist")
    ):
        registry.extend(owner, "ABSENT", {1: "ours"}, rule="a rule", test="tests/embedded")


def test_rebind_replaces_every_binding_of_the_function(empty_registry, monkeypatch):
    import sys

    owner = types.ModuleType("mongoeco_stand_in")
    importer = types.ModuleType("mongoeco_stand_in_importer")
    owner.function = importer.function = original = object()
    monkeypatch.setitem(sys.modules, owner.__name__, owner)
    monkeypatch.setitem(sys.modules, importer.__name__, importer)
    replacement = object()
    registry.rebind(owner, "function", replacement, rule="a rule", test="tests/embedded")
    assert owner.function is replacement
    assert importer.function is replacement
    (patch,) = registry.patches()
    assert patch.also == ("mongoeco_stand_in_importer",)
    assert registry.rebind(owner, "function", object(), rule="a rule", test="tests/embedded") is (
        original
    )
    assert importer.function is replacement


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rule": "", "test": "tests/embedded"}, "rule"),
        ({"rule": "two\nlines", "test": "tests/embedded"}, "rule"),
        ({"rule": "a rule", "test": ""}, "test"),
        ({"rule": "a rule", "test": "tests/embedded", "kind": "fix"}, "kind"),
    ],
)
def test_a_patch_needs_its_rule_test_and_kind(empty_registry, kwargs, message):
    owner = types.ModuleType("mongoeco_stand_in")
    owner.function = original = object()
    with pytest.raises(ValueError, match=message):
        registry.replace(owner, "function", object(), **kwargs)
    assert owner.function is original


# -- the installed registry ------------------------------------------------------------------


def test_every_registered_module_goes_through_the_registry():
    modules = {patch.module for patch in installed_registry()}
    prefix = "django_mongo_backend.embedded."
    expected = {prefix + name for name in REGISTERED_MODULES + INSTALLED_BY_OPERATORS}
    assert expected <= modules


def _package(module_name):
    """The subpackage of ``embedded`` holding ``module_name`` ("" for the top level)."""
    package, _, rest = module_name.removeprefix("django_mongo_backend.embedded.").partition(".")
    return package if rest else ""


def test_every_patch_sits_in_the_subpackage_of_its_kind():
    assert set(PACKAGE_OF_KIND) == set(registry.KINDS)
    for patch in installed_registry():
        assert patch.module.startswith("django_mongo_backend.embedded."), patch
        assert _package(patch.module) == PACKAGE_OF_KIND[patch.kind], (
            f"{patch.module} makes a {patch.kind!r} patch ({patch.target}): it belongs in "
            f"embedded/{PACKAGE_OF_KIND[patch.kind]}/"
        )


def test_every_subpackage_installs_each_of_its_modules():
    """A module with an ``install()`` that its subpackage's ``install()`` does not call would
    leave mongoeco's behaviour in place: its patches would be missing from the registry."""
    patched = {patch.module for patch in installed_registry()}
    for package_name in PACKAGE_OF_KIND.values():
        package = importlib.import_module(f"django_mongo_backend.embedded.{package_name}")
        assert callable(package.install), package_name
        for module_info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(module_info.name)
            if callable(getattr(module, "install", None)):
                assert module.__name__ in patched, f"{module.__name__}.install() is not called"


def test_every_patch_has_a_kind_and_a_rule():
    for patch in installed_registry():
        assert patch.kind in registry.KINDS, patch
        assert patch.rule.strip(), patch
        assert patch.target.startswith(("mongoeco.", "django_mongo_backend.")), patch


def _defined_tests(path):
    """``name`` and ``Class::name`` of every function and class defined in a test file."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}::{item.name}")
    return names


def test_every_patch_names_an_existing_test():
    for patch in installed_registry():
        file, _, name = patch.test.partition("::")
        path = ROOT / file
        assert path.exists(), f"{patch.target}: no test file {file}"
        if name:
            assert path.is_file(), patch
            assert name in _defined_tests(path), f"{patch.target}: no test {patch.test}"


def _resolve(target):
    """The object a dotted target (``pkg.module.Class.attr`` or ``pkg.module.TABLE['key']``)
    holds now."""
    path, _, key = target.partition("[")
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            value = value.__dict__[part] if isinstance(value, type) else getattr(value, part)
        break
    return value[ast.literal_eval(key[:-1])] if key else value


def test_installing_again_changes_nothing():
    before = installed_registry()
    values = {patch.target: _resolve(patch.target) for patch in before}
    for name in (*REGISTERED_MODULES, *PACKAGE_OF_KIND.values()):
        importlib.import_module(f"django_mongo_backend.embedded.{name}").install()
    assert registry.patches() == before
    assert {target: _resolve(target) for target in values} == values


def test_list_patches_prints_the_registry():
    out = io.StringIO()
    assert cli.list_patches(out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["kind", "target", "rule", "[test]"]
    assert lines[-1] == f"{len(registry.patches())} patches on mongoeco {MONGOECO_VERSION}"
    for patch, line in zip(
        sorted(registry.patches(), key=lambda p: list(registry.KINDS).index(p.kind)),
        lines[1:-1],
        strict=True,
    ):
        assert line.startswith(patch.kind) and patch.target in line and patch.test in line
