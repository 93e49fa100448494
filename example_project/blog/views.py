from django.core.cache import cache
from django.db.models import Count
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import cache_page
from django.views.generic import ListView

from .models import Post


def count_view(page):
    """How many times ``page`` was viewed: one atomic ``$inc`` in the MongoDB cache."""
    key = f"views:{page}"
    try:
        return cache.incr(key)
    except ValueError:  # the first view (or the cache was cleared)
        cache.add(key, 0, timeout=None)
        return cache.incr(key)


class PostListView(ListView):
    """The public front page: published posts, newest first."""

    template_name = "blog/post_list.html"
    context_object_name = "posts"
    paginate_by = 20

    def get_queryset(self):
        return (
            Post.objects.filter(status=Post.Status.PUBLISHED)
            .select_related("author")
            .prefetch_related("tags")
        )

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "views": count_view("post-list")}


@cache_page(60)
def post_stats(request):
    """Posts per status, computed at most once a minute: the response itself is cached."""
    counts = Post.objects.values("status").annotate(posts=Count("id")).order_by("status")
    return JsonResponse(
        {
            "posts_per_status": {row["status"]: row["posts"] for row in counts},
            "computed_at": timezone.now().isoformat(),
        }
    )
