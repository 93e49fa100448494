"""makemigrations / migrate / migrate backwards of an app with every field type, as a user runs
them: a fresh project in a temporary directory, ``manage.py``-style commands in a subprocess
(its own app registry and migration files), and the stored documents checked through pymongo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

SETTINGS = """
DATABASES = {{
    "default": {{
        "ENGINE": "django_mongo_backend",
        "NAME": {name!r},
        "CLIENT": {{"host": {host!r}}},
        "ENFORCE_SCHEMA": {enforce!r},
    }}
}}
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "roundtrip"]
SECRET_KEY = "round-trip"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

MODELS_V1 = """
from django.db import models


class Tag(models.Model):
    name = models.CharField(max_length=20, unique=True)


class Everything(models.Model):
    big = models.BigIntegerField(null=True)
    small = models.SmallIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    flag = models.BooleanField(default=False)
    maybe = models.BooleanField(null=True)
    text = models.TextField(blank=True)
    char = models.CharField(max_length=30, db_index=True)
    decimal = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    floating = models.FloatField(null=True)
    day = models.DateField(null=True)
    moment = models.DateTimeField(null=True)
    clock = models.TimeField(null=True)
    duration = models.DurationField(null=True)
    uid = models.UUIDField(null=True)
    data = models.JSONField(null=True)
    blob = models.BinaryField(null=True)
    ip = models.GenericIPAddressField(null=True)
    slug = models.SlugField(null=True)
    email = models.EmailField(blank=True)
    url = models.URLField(blank=True)
    tag = models.ForeignKey(Tag, models.SET_NULL, null=True, related_name="things")
    tags = models.ManyToManyField(Tag, related_name="tagged")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(small__gte=-100), name="small_floor"),
            models.UniqueConstraint(fields=["char", "slug"], name="char_slug"),
        ]
"""

# The second version: a field added with a default, one renamed, one retyped, one removed.
MODELS_V2 = (
    MODELS_V1.replace(
        "    text = models.TextField(blank=True)\n",
        "    text = models.TextField(blank=True)\n    added = models.IntegerField(default=7)\n",
    )
    .replace("    clock = models.TimeField(null=True)\n", "    at = models.TimeField(null=True)\n")
    .replace(
        "    big = models.BigIntegerField(null=True)\n", "    big = models.FloatField(null=True)\n"
    )
    .replace("    ip = models.GenericIPAddressField(null=True)\n", "")
)

SCRIPT = """
import datetime, decimal, json, sys, uuid
import django
django.setup()
from django.core.management import call_command
from roundtrip.models import Everything, Tag

step = sys.argv[1]
if step == "create":
    tag = Tag.objects.create(name="t")
    obj = Everything.objects.create(
        big=2**40, small=-5, positive=3, flag=True, maybe=None, text="ünï", char="c",
        decimal=decimal.Decimal("1.25"), floating=0.5, day=datetime.date(2020, 1, 2),
        moment=datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        clock=datetime.time(1, 2, 3), duration=datetime.timedelta(seconds=90),
        uid=uuid.UUID(int=7), data={"k": [1, None]}, blob=b"\\x00b", ip="10.0.0.1", slug="s",
        email="a@b.c", url="https://x.test", tag=tag,
    )
    obj.tags.add(tag)
elif step == "read":
    obj = Everything.objects.get()
    print(json.dumps({
        "big": obj.big, "added": obj.added, "at": str(obj.at),
        "tags": [t.name for t in obj.tags.all()], "decimal": str(obj.decimal),
        "data": obj.data, "uid": str(obj.uid), "blob": bytes(obj.blob).hex(),
    }))
"""


def run(project, *args, answers=None):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project_settings"}
    env["PYTHONPATH"] = os.pathsep.join([str(project), str(REPO_ROOT)])
    result = subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=env,
        input=answers,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def manage(project, *args):
    return run(project, "-m", "django", *args)


@pytest.fixture(params=[True, False], ids=["enforce", "no-enforce"])
def project(request, tmp_path, mongo_uri, mongo_client):
    name = f"roundtrip_{uuid.uuid4().hex[:8]}"
    app = tmp_path / "roundtrip"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS_V1)
    (tmp_path / "script.py").write_text(textwrap.dedent(SCRIPT))
    (tmp_path / "project_settings.py").write_text(
        SETTINGS.format(name=name, host=mongo_uri, enforce=request.param)
    )
    yield tmp_path
    mongo_client.drop_database(name)


def test_every_field_type_migrates_forwards_and_backwards(project, mongo_client):
    settings = (project / "project_settings.py").read_text()
    enforce = '"ENFORCE_SCHEMA": True' in settings
    database = mongo_client[settings.split('"NAME": ')[1].split(",")[0].strip("'\"")]

    manage(project, "makemigrations", "roundtrip", "-v", "0")
    manage(project, "migrate", "-v", "0")
    collections = set(database.list_collection_names())
    assert {"roundtrip_everything", "roundtrip_tag", "roundtrip_everything_tags"} <= collections
    options = database["roundtrip_everything"].options()
    assert ("validator" in options) == enforce
    run(project, "script.py", "create")

    (project / "roundtrip" / "models.py").write_text(MODELS_V2)
    # The rename is confirmed as a user would at the prompt ("y"), without a terminal.
    run(project, "-m", "django", "makemigrations", "roundtrip", "-v", "0", answers="y\n")
    sqlmigrate = manage(project, "sqlmigrate", "roundtrip", "0002")
    assert "$rename" in sqlmigrate and "$unset" in sqlmigrate, sqlmigrate
    manage(project, "migrate", "-v", "0")

    document = database["roundtrip_everything"].find_one()
    assert document["added"] == 7  # back-filled by AddField's default
    assert "ip" not in document and "clock" not in document and "at" in document
    assert isinstance(document["big"], float)  # retyped by AlterField
    read = json.loads(run(project, "script.py", "read"))
    assert read == {
        "big": float(2**40),
        "added": 7,
        "at": "01:02:03",
        "tags": ["t"],
        "decimal": "1.25",
        "data": {"k": [1, None]},
        "uid": str(uuid.UUID(int=7)),
        "blob": "0062",
    }
    if enforce:
        properties = database["roundtrip_everything"].options()["validator"]["$jsonSchema"]
        assert "added" in properties["properties"] and "ip" not in properties["properties"]

    manage(project, "migrate", "roundtrip", "0001", "-v", "0")
    document = database["roundtrip_everything"].find_one()
    assert "added" not in document and "clock" in document and "ip" in document
    assert document["ip"] is None  # re-added with no default: null

    manage(project, "migrate", "roundtrip", "zero", "-v", "0")
    left = set(database.list_collection_names())
    assert not {c for c in left if c.startswith("roundtrip_")}
    sequences = {entry["name"] for entry in database["__schema__"].find()}
    assert not {s for s in sequences if s.startswith("roundtrip_")}
