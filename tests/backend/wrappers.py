"""A DatabaseWrapper built from a settings dict, as Django builds one, without connecting."""

from __future__ import annotations

from django_mongo_backend.base import DatabaseWrapper

#: What Django's ConnectionHandler fills in for keys a DATABASES entry leaves out.
DEFAULTS = {
    "ENGINE": "django_mongo_backend",
    "HOST": "",
    "PORT": "",
    "USER": "",
    "PASSWORD": "",
    "OPTIONS": {},
    "TIME_ZONE": None,
    "CONN_MAX_AGE": 0,
    "CONN_HEALTH_CHECKS": False,
    "AUTOCOMMIT": True,
}


def unconnected_wrapper(alias="probe", **settings):
    return DatabaseWrapper({**DEFAULTS, **settings}, alias=alias)
