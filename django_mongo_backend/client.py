"""``manage.py dbshell``: ``mongosh`` connected to the configured database.

The connection string is built from the same settings the backend connects with (``CLIENT``
over ``HOST``/``PORT``/``USER``/``PASSWORD``/``OPTIONS``); ``embedded://DIR`` resolves to the
running embedded server (started if needed). If ``mongosh`` is missing, Django's ``dbshell``
reports "You appear not to have the 'mongosh' program installed or on your path."
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from django.db.backends.base.client import BaseDatabaseClient

#: MongoClient keyword arguments that are also connection-string options mongosh understands
#: (lowercase -> the spelling written into the URI). Driver-only options are left out.
URI_OPTIONS = {
    name.lower(): name
    for name in (
        "appName",
        "authMechanism",
        "authMechanismProperties",
        "authSource",
        "compressors",
        "connectTimeoutMS",
        "directConnection",
        "journal",
        "loadBalanced",
        "readConcernLevel",
        "readPreference",
        "replicaSet",
        "retryReads",
        "retryWrites",
        "serverSelectionTimeoutMS",
        "socketTimeoutMS",
        "srvServiceName",
        "ssl",
        "tls",
        "tlsAllowInvalidCertificates",
        "tlsAllowInvalidHostnames",
        "tlsCAFile",
        "tlsCertificateKeyFile",
        "tlsInsecure",
        "w",
        "wTimeoutMS",
    )
}

URI_SCHEMES = ("mongodb://", "mongodb+srv://")


def _option_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def connection_settings(settings_dict):
    """The MongoClient keyword arguments the backend uses, before ``embedded://`` resolution."""
    kwargs = {
        key: value
        for key, value in {
            "host": settings_dict.get("HOST"),
            "port": settings_dict.get("PORT"),
            "username": settings_dict.get("USER"),
            "password": settings_dict.get("PASSWORD"),
        }.items()
        if value
    }
    kwargs.update(settings_dict.get("OPTIONS") or {})
    kwargs.update(settings_dict.get("CLIENT") or {})
    return kwargs


def connection_uri(settings_dict):
    """A ``mongodb://`` URI for the configured server and database (credentials included)."""
    kwargs = connection_settings(settings_dict)
    host = kwargs.pop("host", None) or "localhost"
    port = kwargs.pop("port", None)
    username = kwargs.pop("username", None)
    password = kwargs.pop("password", None)
    if isinstance(host, list | tuple):
        host = ",".join(host)
    if host.startswith("embedded://"):
        from .embedded.launcher import embedded_uri

        host, port = embedded_uri(host), None
    if host.startswith(URI_SCHEMES):
        scheme, netloc, path, query, _ = urlsplit(host)
        options = dict(parse_qsl(query))
        default_db = path.lstrip("/")
        if default_db and "authSource" not in options and ("@" in netloc or username):
            # The URI's database was its default authentication database: keep it so.
            options["authSource"] = default_db
    else:
        scheme = "mongodb"
        netloc = ",".join(
            part if ":" in part or not port else f"{part}:{int(port)}" for part in host.split(",")
        )
        options = {}
    if username:
        credentials = quote_plus(str(username))
        if password:
            credentials += ":" + quote_plus(str(password))
        netloc = f"{credentials}@{netloc.rpartition('@')[2]}"
    for key, value in kwargs.items():
        name = URI_OPTIONS.get(key.lower())
        if name is not None and isinstance(value, str | int | float | bool):
            options[name] = _option_value(value)
    path = "/" + quote(settings_dict.get("NAME") or "", safe="")
    return urlunsplit((scheme, netloc, path, urlencode(options), ""))


class DatabaseClient(BaseDatabaseClient):
    executable_name = "mongosh"

    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):
        return [cls.executable_name, connection_uri(settings_dict), *parameters], None
