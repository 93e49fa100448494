"""``serve``: a GridFS file over HTTP, for the URLs ``GridFSStorage.url()`` makes.

Mount it under the storage's ``base_url`` (``MEDIA_URL`` by default)::

    path("media/", include("django_mongo_backend.storage.urls"))        # STORAGES["default"]
    path("attachments/<path:name>", serve, {"storage": "attachments"})  # another alias

The answer streams the newest revision chunk by chunk (never the whole file in memory, under
WSGI or ASGI) with
``Content-Type`` guessed from the name, ``Content-Length``, ``ETag`` (the revision's ``_id``:
a revision never changes) and ``Last-Modified`` (its upload time); ``If-None-Match`` and
``If-Modified-Since`` get 304, and one ``Range`` gets 206 (``If-Range`` honoured). Uploaded
files are the uploader's content served from the site's origin, so only types a browser
cannot run as a page are shown inline; HTML, SVG, scripts and anything unknown come as
downloads (``Content-Disposition: attachment``), always with ``X-Content-Type-Options:
nosniff``. Access control is the project's: wrap ``serve`` in ``login_required`` or a
permission check of its own where files are not public.
"""

from __future__ import annotations

import mimetypes
import posixpath
from datetime import UTC

from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date
from django.views.decorators.http import require_safe

from . import ranges
from .backend import GridFSStorage

#: Types a browser displays without running anything; every other type is a download.
INLINE_TYPES = {"application/pdf", "text/plain"}
INLINE_FAMILIES = ("image/", "audio/", "video/")
NOT_INLINE = {"image/svg+xml"}  # an image that can carry scripts

#: As FileResponse names compressed files: the archive, not its content.
ENCODED_TYPES = {
    "br": "application/x-brotli",
    "bzip2": "application/x-bzip",
    "compress": "application/x-compress",
    "gzip": "application/gzip",
    "xz": "application/x-xz",
}


@require_safe
def serve(request, name, storage="default"):
    """The file ``name`` of ``storage`` (a ``STORAGES`` alias or a ``GridFSStorage``)."""
    storage = _storage(storage)
    document = storage.file_document(name)
    if document is None:
        raise Http404(f"No file named {name!r}.")
    length = document["length"]
    uploaded = document["uploadDate"]
    timestamp = (uploaded if uploaded.tzinfo else uploaded.replace(tzinfo=UTC)).timestamp()
    validators = {"ETag": f'"{document["_id"]}"', "Last-Modified": http_date(timestamp)}

    conditional = get_conditional_response(
        request, etag=validators["ETag"], last_modified=int(timestamp)
    )
    if conditional is not None:  # 304 Not Modified, or 412 Precondition Failed
        _set_headers(conditional, validators)
        return conditional

    wanted = None
    if _if_range_holds(request, validators):
        wanted = ranges.byte_range(request.headers.get("Range"), length)
    if wanted == ranges.UNSATISFIABLE:
        response = HttpResponse(status=416)
        _set_headers(response, validators)
        response.headers["Content-Range"] = f"bytes */{length}"
        return response

    first, last = wanted or (0, length - 1)
    count = last - first + 1
    if request.method == "HEAD":
        response = HttpResponse()
    else:
        body = _body(storage, document, first, count)
        if isinstance(request, ASGIRequest):
            body = _async_body(body)
        response = StreamingHttpResponse(body)
    if wanted:
        response.status_code = 206
        response.headers["Content-Range"] = f"bytes {first}-{last}/{length}"
    content_type = _content_type(document["filename"])
    _set_headers(response, validators)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Length"] = str(count)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = content_disposition_header(
        as_attachment=not _shown_inline(content_type),
        filename=posixpath.basename(document["filename"]),
    )
    return response


def _set_headers(response, headers):
    for header, value in headers.items():
        response.headers[header] = value


def _storage(storage):
    if isinstance(storage, str):
        storage = storages[storage]
    if not isinstance(storage, GridFSStorage):
        raise ImproperlyConfigured(
            "django_mongo_backend.storage.views.serve serves a GridFSStorage; it was given "
            f"{storage!r}. Pass a STORAGES alias of a GridFSStorage, or one, as 'storage'."
        )
    return storage


def _if_range_holds(request, validators):
    """``If-Range``: the range applies only to the representation the client has (same strong
    ETag, or exactly the same Last-Modified date); otherwise the whole file is sent."""
    condition = request.headers.get("If-Range")
    return condition is None or condition.strip() in validators.values()


def _body(storage, document, first, count):
    """The bytes ``first`` to ``first + count - 1`` of this revision, one chunk at a time."""
    file = storage.open_revision(document)
    try:
        if first:
            file.seek(first)
        while count > 0:
            data = file.read(min(file.DEFAULT_CHUNK_SIZE, count))
            if not data:
                break
            count -= len(data)
            yield data
    finally:
        file.close()


async def _async_body(body):
    """The same chunks for an ASGI server: Django would read a synchronous iterator whole
    (``list()``) before sending anything; this reads one chunk per step, in a worker thread."""
    read = sync_to_async(next)
    try:
        while (data := await read(body, None)) is not None:
            yield data
    finally:
        await sync_to_async(body.close)()


def _content_type(filename):
    content_type, encoding = mimetypes.guess_type(filename)
    content_type = ENCODED_TYPES.get(encoding, content_type)
    return content_type or "application/octet-stream"


def _shown_inline(content_type):
    if content_type in NOT_INLINE:
        return False
    return content_type in INLINE_TYPES or content_type.startswith(INLINE_FAMILIES)
