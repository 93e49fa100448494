from blog.views import PostListView, post_stats
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", PostListView.as_view(), name="post-list"),
    path("stats/", post_stats, name="post-stats"),
    path("admin/", admin.site.urls),
    # The files of STORAGES["default"] (GridFS), at MEDIA_URL.
    path("media/", include("django_mongo_backend.storage.urls")),
]

if settings.DEBUG_TOOLBAR:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
