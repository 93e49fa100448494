from django.views.generic import ListView

from .models import Post


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
