from django.apps import AppConfig


class StorageAppConfig(AppConfig):
    name = "tests.storageapp"
    label = "storageapp"
    default_auto_field = "django.db.models.AutoField"
