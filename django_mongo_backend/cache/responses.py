"""An ``HttpResponse`` as data, so that ``cache_page`` and the cache middleware work without
pickle.

Django's cache middleware stores the response object itself. Pickle would keep it whole; here
it is written as what the middleware reads back: status, reason phrase, charset, headers,
cookies and content. It is rebuilt as an ``HttpResponse`` — the class of every response that
comes back, also for a ``TemplateResponse`` or ``JsonResponse`` (whose extra state Django's own
pickling drops too: a cached ``TemplateResponse`` has no template left). Streaming responses are
not ``HttpResponse`` instances and the middleware never caches them.
"""

from __future__ import annotations

import base64
from http.cookies import Morsel, SimpleCookie

from django.http import HttpResponse


def is_response(value):
    return isinstance(value, HttpResponse)


def is_plain_response(value):
    """Rebuilt as its own class, with nothing lost."""
    return type(value) is HttpResponse


def to_data(response, encode):
    content = response.content
    try:
        body = {"text": content.decode("utf-8")}
    except UnicodeDecodeError:
        body = {"base64": base64.b64encode(content).decode("ascii")}
    return {
        "status": response.status_code,
        "reason": response.reason_phrase,
        "charset": response.charset,
        "headers": [[name, value] for name, value in response.headers.items()],
        "cookies": [
            {
                "key": morsel.key,
                "value": morsel.value,
                "coded_value": morsel.coded_value,
                "attributes": {name: encode(value) for name, value in morsel.items()},
            }
            for morsel in response.cookies.values()
        ],
        **body,
    }


def from_data(data):
    content = data["text"].encode("utf-8") if "text" in data else base64.b64decode(data["base64"])
    response = HttpResponse(
        content, status=data["status"], reason=data["reason"], charset=data["charset"]
    )
    for name in list(response.headers):
        del response.headers[name]
    for name, value in data["headers"]:
        response.headers[name] = value
    response.cookies = SimpleCookie()
    for cookie in data["cookies"]:
        morsel = Morsel()
        morsel.set(cookie["key"], cookie["value"], cookie["coded_value"])
        morsel.update(cookie["attributes"])
        response.cookies[cookie["key"]] = morsel
    return response
