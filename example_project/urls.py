from blog.views import PostListView
from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("", PostListView.as_view(), name="post-list"),
    path("admin/", admin.site.urls),
]
