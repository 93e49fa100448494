"""compiler/dispatch.py: a node takes its nearest class's entry, and the answer per (table,
class) is kept without mixing up tables."""

from django_mongo_backend.compiler.dispatch import by_class


class Base:
    pass


class Child(Base):
    pass


class Grandchild(Child):
    pass


class Unrelated:
    pass


def test_the_nearest_ancestor_in_the_mro_wins():
    table = {Base: "base", Child: "child"}
    assert by_class(table, Base()) == "base"
    assert by_class(table, Child()) == "child"
    assert by_class(table, Grandchild()) == "child"
    assert by_class(table, Unrelated()) is None


def test_answers_are_kept_per_table_not_per_class():
    first = {Base: "first"}
    second = {Child: "second"}
    assert by_class(first, Grandchild()) == "first"
    assert by_class(second, Grandchild()) == "second"
    assert by_class(first, Grandchild()) == "first"
    assert by_class(second, Unrelated()) is None
    assert by_class({Unrelated: "third"}, Unrelated()) == "third"
