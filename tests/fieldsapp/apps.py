from django.apps import AppConfig


class FieldsAppConfig(AppConfig):
    name = "tests.fieldsapp"
    label = "fieldsapp"
    default_auto_field = "django.db.models.AutoField"
