from blog.views import PostListView, post_stats
from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("", PostListView.as_view(), name="post-list"),
    path("stats/", post_stats, name="post-stats"),
    path("admin/", admin.site.urls),
]
