"""URLs of the panel's tests: views that run a few commands, and the toolbar's own URLs.

``debug_toolbar.urls`` is included directly (``debug_toolbar_urls()`` returns nothing unless
DEBUG was on when the URLconf was imported, and pytest-django turns it off).
"""

from django.http import HttpResponse
from django.urls import include, path

from tests.backend.mongo_models import MongoAuthor
from tests.testapp.models import Author

PAGE = "<!DOCTYPE html><html><head><title>t</title></head><body>{}</body></html>"


def authors(request):
    """Reads: the same filter twice (a duplicate) and once with another value (similar)."""
    names = [
        *Author.objects.filter(age=30).values_list("name", flat=True),
        *Author.objects.filter(age=30).values_list("name", flat=True),
        *Author.objects.filter(age=41).values_list("name", flat=True),
        *MongoAuthor.objects.mongo_find({"age": {"$gte": 40}}, sort=[("name", 1)]),
    ]
    return HttpResponse(PAGE.format(", ".join(map(str, names))))


def create(request):
    """A write: inserts are not explained."""
    Author.objects.create(name="Written", age=99)
    return HttpResponse(PAGE.format("created"))


def nothing(request):
    return HttpResponse(PAGE.format("no database"))


urlpatterns = [
    path("authors/", authors),
    path("create/", create),
    path("nothing/", nothing),
    path("__debug__/", include("debug_toolbar.urls")),
]
