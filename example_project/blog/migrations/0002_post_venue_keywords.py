import django.db.models

import blog.models
import django_mongo_backend.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("blog", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="venue",
            field=django_mongo_backend.fields.EmbeddedModelField(
                blog.models.Venue, blank=True, null=True
            ),
        ),
        migrations.AddField(
            model_name="post",
            name="keywords",
            field=django_mongo_backend.fields.ArrayField(
                base_field=django.db.models.CharField(max_length=30),
                blank=True,
                default=list,
                help_text="One per line.",
                size=None,
            ),
        ),
    ]
