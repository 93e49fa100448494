from django.apps import AppConfig


class JSONAppConfig(AppConfig):
    """A nullable JSONField on both MongoDB and the SQLite oracle (tests/compiler/test_json_null):
    rows are compared with SQLite's, which tells a JSON null from SQL NULL."""

    name = "tests.jsonapp"
    label = "jsonapp"
    default_auto_field = "django.db.models.AutoField"
