from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=50)
    number = models.IntegerField()
    ratio = models.FloatField()
