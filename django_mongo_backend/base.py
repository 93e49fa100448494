"""DatabaseWrapper: settings, the MongoClient, sessions and transactions, command execution.

Settings (all Djongo-compatible, plus Django's usual keys):

- ``NAME``: the MongoDB database (required).
- ``CLIENT``: keyword arguments passed straight to ``pymongo.MongoClient`` (host, port,
  username, password, authSource, authMechanism, tls, ...). ``host`` may be
  ``embedded://DIR`` for the embedded server.
- ``HOST`` (a host name or a ``mongodb://`` / ``mongodb+srv://`` URI, or ``embedded://DIR``),
  ``PORT``, ``USER``, ``PASSWORD``, ``OPTIONS``: used where ``CLIENT`` does not say otherwise.
- ``ENFORCE_SCHEMA`` (default True): ``$jsonSchema`` validators, and missing fields are errors.
- ``LOCK_TIMEOUT`` (seconds, default 30): how long ``select_for_update()`` waits for rows another
  transaction holds (docs/transactions.rst).
- ``LOGGING``: a ``logging.config.dictConfig`` dict, applied once per process; the commands the
  backend runs are logged at DEBUG on the ``django_mongo_backend`` logger.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
import os
import threading
import time
from types import SimpleNamespace

import pymongo
from bson import errors as bson_errors
from django.core.exceptions import ImproperlyConfigured
from django.db import utils as django_errors
from django.db.backends.base.base import BaseDatabaseWrapper
from pymongo import errors as mongo_errors
from pymongo.database import Database as PyMongoDatabase

from . import errors, sequences
from .checks import DatabaseValidation
from .client import DatabaseClient
from .creation import DatabaseCreation
from .features import DatabaseFeatures
from .introspection import DatabaseIntrospection
from .lock_waits import DEFAULT_LOCK_TIMEOUT, Held, retry_while_held
from .operations import DatabaseOperations
from .savepoints import TransactionLog
from .schema import DatabaseSchemaEditor

logger = logging.getLogger("django_mongo_backend")

#: What pymongo raises that we turn into Django's database errors. BSON encoding errors (a key
#: with a NUL byte, an unencodable type) are not PyMongoErrors; OverflowError is an int beyond
#: 64 bits, UnicodeEncodeError a string UTF-8 cannot encode (a lone surrogate).
MONGO_ERRORS = (
    mongo_errors.PyMongoError,
    bson_errors.BSONError,
    OverflowError,
    UnicodeEncodeError,
)


#: The errors the server answered with (or that lost the connection): after one, a transaction
#: is aborted. pymongo's other errors (a document BSON cannot encode...) never left the client.
SERVER_ERRORS = (mongo_errors.OperationFailure, mongo_errors.ConnectionFailure)

#: Django's wrapper maps ``Database.<Name>`` exceptions onto Django's own; our commands already
#: raise Django's classes, so the "driver module" simply exposes them.
Database = SimpleNamespace(
    **{
        name: getattr(django_errors, name)
        for name in (
            "Error",
            "InterfaceError",
            "DatabaseError",
            "DataError",
            "OperationalError",
            "IntegrityError",
            "InternalError",
            "ProgrammingError",
            "NotSupportedError",
        )
    },
    Binary=bytes,  # BinaryField adapts values with Database.Binary; pymongo stores bytes as-is
)

#: While ``async_execution`` runs synchronous ORM code on an event loop, every command goes to
#: this callable ``(wrapper, command, transactional) -> result`` instead of the MongoClient.
COMMAND_INTERCEPTOR = contextvars.ContextVar("django_mongo_backend_interceptor", default=None)

_clients = {}
_clients_lock = threading.Lock()
_configured_logging = set()
# A MongoClient must not be used across fork() (Django's test runner forks for --parallel):
# children start with no shared clients and open their own.
os.register_at_fork(after_in_child=_clients.clear)


def shared_client(kwargs):
    """One MongoClient per distinct configuration and process.

    A MongoClient is a connection pool with monitor threads; Django opens a "connection" per
    thread and closes it after every request, so each of those gets a handle on a shared pool.
    """
    key = repr(sorted(kwargs.items()))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = pymongo.MongoClient(**kwargs)
        return client


def configure_logging(config):
    key = repr(config)
    if not config or key in _configured_logging:
        return
    config = dict(config)
    config.setdefault("version", 1)
    config.setdefault("disable_existing_loggers", False)
    logging.config.dictConfig(config)
    _configured_logging.add(key)


class MongoCursor:
    """What ``connection.cursor()`` returns: it runs ``MongoCommand`` objects, never SQL.

    Django hands some backend-made statements back through a cursor (``loaddata`` runs
    ``ops.sequence_reset_sql()`` that way); those are our commands.
    """

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def execute(self, sql, params=None):
        if hasattr(sql, "run"):
            return self.wrapper.execute_command(sql)
        raise django_errors.NotSupportedError(
            f"MongoDB does not run SQL; this code path tried to execute: {str(sql)[:200]!r}. "
            "Use the ORM, or Model.objects.mongo_aggregate() for raw pipelines."
        )

    executemany = execute

    def close(self):
        pass

    def fetchone(self):
        return None

    def fetchmany(self, size=None):
        return []

    def fetchall(self):
        return []

    rowcount = -1
    lastrowid = None
    description = None


class _Database(PyMongoDatabase):
    """The database handle, keeping one ``Collection`` per name: pymongo builds a new one for
    every ``database[name]`` (its options copied from the database), which every command did."""

    def __init__(self, client, name):
        super().__init__(client, name)
        self._collections = {}

    def __getitem__(self, name):
        collection = self._collections.get(name)
        if collection is None:
            collection = self._collections[name] = super().__getitem__(name)
        return collection


class MongoConnection:
    """The "DB-API connection" Django keeps per thread: a database handle, a session, and the
    log of the open transaction's writes (``savepoints.TransactionLog``)."""

    def __init__(self, client, database_name):
        self.client = client
        self.database = _Database(client, database_name)
        self.session = None
        self.log = TransactionLog()

    def transaction_session(self):
        if self.session is None:
            self.session = self.client.start_session(causal_consistency=True)
        if not self.session.in_transaction:
            self.session.start_transaction()
        return self.session

    def commit(self):
        try:
            if self.session is not None and self.session.in_transaction:
                self.session.commit_transaction()
        finally:
            self.log.clear()

    def rollback(self):
        try:
            self.abort_server_transaction()
        finally:
            self.log.clear()

    def abort_server_transaction(self):
        """End the server transaction, keeping the log (a savepoint rollback replays it).
        pymongo ignores the server's answer, as the drivers' specification says: the server may
        have aborted the transaction already."""
        if self.session is not None and self.session.in_transaction:
            self.session.abort_transaction()

    def close(self):
        if self.session is not None:
            try:
                self.rollback()
            finally:
                self.session.end_session()
                self.session = None


class DatabaseWrapper(BaseDatabaseWrapper):
    vendor = "mongodb"
    display_name = "MongoDB"

    # Field types as the BSON types they are stored as ($jsonSchema "bsonType" names).
    data_types = {
        "AutoField": "int",
        "BigAutoField": "long",
        "BinaryField": "binData",
        "BooleanField": "bool",
        "CharField": "string",
        "DateField": "date",
        "DateTimeField": "date",
        "DecimalField": "decimal",
        "DurationField": "long",
        "FileField": "string",
        "FilePathField": "string",
        "FloatField": "double",
        "GenericIPAddressField": "string",
        "IntegerField": "int",
        "BigIntegerField": "long",
        "JSONField": "object",
        "OneToOneField": "int",
        "PositiveBigIntegerField": "long",
        "PositiveIntegerField": "int",
        "PositiveSmallIntegerField": "int",
        "SlugField": "string",
        "SmallAutoField": "int",
        "SmallIntegerField": "int",
        "TextField": "string",
        "TimeField": "string",
        "UUIDField": "binData",
    }
    # Lookups are compiled by compiler/lookups.py; Django only checks membership here.
    operators = dict.fromkeys(
        (
            "exact",
            "iexact",
            "contains",
            "icontains",
            "regex",
            "iregex",
            "gt",
            "gte",
            "lt",
            "lte",
            "startswith",
            "endswith",
            "istartswith",
            "iendswith",
        ),
        "",
    )
    pattern_esc = ""
    pattern_ops = {}

    Database = Database
    SchemaEditorClass = DatabaseSchemaEditor
    client_class = DatabaseClient
    creation_class = DatabaseCreation
    features_class = DatabaseFeatures
    introspection_class = DatabaseIntrospection
    ops_class = DatabaseOperations
    validation_class = DatabaseValidation  # database checks: sequences behind the data

    def __init__(self, settings_dict, alias="default"):
        super().__init__(settings_dict, alias)
        configure_logging(settings_dict.get("LOGGING"))
        #: Callables ``(wrapper, command, seconds)`` told of every command, as they run, whatever
        #: DEBUG says: how a tool (the debug toolbar's panel) sees the commands themselves, not
        #: just the text ``connection.queries`` keeps. A tuple, replaced rather than mutated.
        self.command_observers = ()
        #: Compiled plain reads by shape (compiler/read_shapes.py).
        self.read_shapes = {}

    # -- settings -------------------------------------------------------------------------

    @property
    def enforce_schema(self):
        return bool(self.settings_dict.get("ENFORCE_SCHEMA", True))

    def _settings_error(self, key, problem):
        where = f"settings.DATABASES[{self.alias!r}]" + (f"[{key!r}]" if key else "")
        return ImproperlyConfigured(f"{where}: {problem}")

    def get_connection_params(self):
        settings = self.settings_dict
        name = settings.get("NAME")
        if not name:
            raise ImproperlyConfigured(
                f"settings.DATABASES[{self.alias!r}] is improperly configured: set NAME to "
                "the name of the MongoDB database."
            )
        if not isinstance(name, str):
            raise self._settings_error("NAME", f"must be a string, not {type(name).__name__}.")
        client = settings.get("CLIENT") or {}
        if not isinstance(client, dict):
            raise ImproperlyConfigured(
                f"settings.DATABASES[{self.alias!r}]['CLIENT'] must be a dict of "
                f"pymongo.MongoClient keyword arguments, not {type(client).__name__}."
            )
        options = settings.get("OPTIONS") or {}
        if not isinstance(options, dict):
            raise self._settings_error(
                "OPTIONS",
                f"must be a dict of pymongo.MongoClient keyword arguments, "
                f"not {type(options).__name__}.",
            )
        kwargs = {}
        fallbacks = {
            "host": settings.get("HOST"),
            "port": settings.get("PORT"),
            "username": settings.get("USER"),
            "password": settings.get("PASSWORD"),
        }
        kwargs.update({key: value for key, value in fallbacks.items() if value})
        if "port" in kwargs:
            try:
                kwargs["port"] = int(kwargs["port"])
            except (TypeError, ValueError):
                raise self._settings_error(
                    "PORT", f"must be a port number, not {kwargs['port']!r}."
                ) from None
        kwargs.update(options)
        kwargs.update(client)
        kwargs.setdefault("uuidRepresentation", "standard")
        kwargs.setdefault("appname", "django_mongo_backend")
        host = kwargs.get("host")
        if isinstance(host, str) and host.startswith("embedded://"):
            kwargs["host"] = self._embedded_uri(
                host, username=kwargs.get("username"), password=kwargs.get("password")
            )
            kwargs.pop("port", None)
        return {"client": kwargs, "name": name}

    def _embedded_uri(self, host, *, username=None, password=None):
        """The server behind ``embedded://DIR``, started (with the settings' user, if any)
        when none runs there."""
        from .embedded import launcher

        try:
            dbpath = launcher.resolve_dbpath(host)
        except launcher.EmbeddedServerError as error:
            raise self._settings_error("CLIENT", str(error)) from error
        try:
            info = launcher.ensure_server(dbpath, username=username, password=password)
            launcher.check_credentials(dbpath, info, username)
            return launcher.uri_for(info)
        except launcher.EmbeddedServerError as error:
            raise django_errors.OperationalError(
                f"settings.DATABASES[{self.alias!r}]: {error}"
            ) from error

    def get_new_connection(self, conn_params):
        try:
            client = shared_client(conn_params["client"])
        # pymongo checks option names (ConfigurationError) and values (TypeError, ValueError).
        except (mongo_errors.ConfigurationError, TypeError, ValueError) as error:
            raise self._settings_error(
                None, f"MongoDB client options are invalid: {error}"
            ) from error
        try:
            return MongoConnection(client, conn_params["name"])
        except mongo_errors.InvalidName as error:
            raise self._settings_error(
                "NAME", f"{conn_params['name']!r} is not a valid MongoDB database name: {error}."
            ) from error

    def init_connection_state(self):
        pass

    def create_cursor(self, name=None):
        return MongoCursor(self)

    def get_database_version(self):
        return tuple(self.server_info.get("versionArray", (0, 0, 0))[:3])

    @property
    def server_info(self):
        """``buildInfo`` of the connected server, fetched once per process and client."""
        self.ensure_connection()
        client = self.connection.client
        info = getattr(client, "_django_mongo_build_info", None)
        if info is None:
            try:
                info = client.admin.command("buildInfo")
            except MONGO_ERRORS as error:
                raise self._translate(error) from error
            client._django_mongo_build_info = info
        return info

    def _translate(self, error, *, collection=None):
        """The Django error for pymongo's ``error``, naming the server (see ``_address``).

        An authentication failure marks the server Unknown until the client's next heartbeat
        (up to 10 s on a replica set), so a command in between fails server selection after
        ``serverSelectionTimeoutMS``: that is still the authentication failure, which the
        topology keeps as the server's error.
        """
        if isinstance(error, mongo_errors.ServerSelectionTimeoutError):
            error = self._authentication_failure() or error
        return errors.translate(error, address=self._address(), collection=collection)

    def _authentication_failure(self):
        client = getattr(self.connection, "client", None)
        if client is None:
            return None
        for server in client.topology_description.server_descriptions().values():
            if errors.error_code(server.error) == errors.AUTHENTICATION_FAILED:
                return server.error
        return None

    def _address(self):
        """``host:port`` of the server(s) this connection talks to, for error messages.

        Read from the client's topology description, which neither waits for server selection
        (``MongoClient.address`` would block for another ``serverSelectionTimeoutMS`` when the
        server is down) nor contains credentials (a ``mongodb://user:password@...`` host must
        not end up in a message).
        """
        client = getattr(self.connection, "client", None)
        if client is not None:
            try:
                servers = list(client.topology_description.server_descriptions())
            except mongo_errors.PyMongoError:
                servers = []
            if servers:
                return ", ".join(_host_port(host, port) for host, port in servers)
        settings = self.settings_dict
        client_settings = settings.get("CLIENT") if isinstance(settings.get("CLIENT"), dict) else {}
        host = client_settings.get("host") or settings.get("HOST") or "localhost"
        port = client_settings.get("port") or settings.get("PORT") or 27017
        if not isinstance(host, str):
            host = ",".join(map(str, host))
        if "://" in host:  # a URI: keep its host list only, never the credentials
            return host.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
        return _host_port(host, port)

    # -- transactions ---------------------------------------------------------------------

    def _set_autocommit(self, autocommit):
        # A transaction starts lazily with the first command run outside autocommit, so an
        # atomic() block that runs nothing costs no round trip.
        if autocommit:
            self.connection.commit()

    def _commit(self):
        if self.connection is None:
            return
        if self.connection.log.server_aborted:
            self._rollback()
            raise django_errors.InternalError(
                "The transaction could not commit: one of its statements failed, and MongoDB "
                "aborts a transaction on any error, so none of its writes were kept. Run the "
                "statement that may fail in an inner atomic() block and catch the error outside "
                "it to go on after it."
            )
        self._run_transaction_step(self.connection.commit)

    def _rollback(self):
        if self.connection is not None:
            given_back = self.connection.log.take_reservations()
            self._run_transaction_step(self.connection.rollback)
            self._give_back(given_back)

    def _run_transaction_step(self, step):
        try:
            step()
        except MONGO_ERRORS as error:
            raise self._translate(error) from error

    # Savepoints are positions in the transaction's write log (docs/transactions.rst).

    def _savepoint(self, sid):
        self.connection.log.mark(sid)

    def _savepoint_commit(self, sid):
        self._check_savepoint(sid)
        self.connection.log.release(sid)

    def _savepoint_rollback(self, sid):
        self._check_savepoint(sid)
        log = self.connection.log
        replay = log.needs_replay(sid)
        self._give_back(log.rewind(sid))
        if replay:
            self._resume()

    def _check_savepoint(self, sid):
        if sid not in self.connection.log.savepoints:
            raise django_errors.OperationalError(f"no such savepoint: {sid}")

    def _resume(self, deadline=None):
        """Abort the server transaction and run the log's writes again in a new one; a write
        another transaction holds is waited for (retried) until ``deadline``."""
        connection = self.connection
        log = connection.log

        def replay():
            self._run_transaction_step(connection.abort_server_transaction)
            log.server_aborted = False
            for command in log.writes:
                try:
                    self._run_in_transaction(command, connection.transaction_session())
                except django_errors.DatabaseError as error:
                    if _held_elsewhere(error):
                        raise Held((command, error)) from error
                    raise _replay_failed((command, error)) from error

        retry_while_held(replay, deadline=deadline, give_up=_replay_failed)

    @property
    def lock_timeout(self):
        """Seconds a write waits for documents another transaction holds (``LOCK_TIMEOUT``)."""
        return float(self.settings_dict.get("LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))

    def note_reservation(self, collection, before, after):
        """Ids ``before + 1 .. after`` were taken: a rollback of the transaction (or of the
        savepoint) gives them back if nobody reserved after them."""
        if self.connection is not None and not self.get_autocommit():
            self.connection.log.reserved(collection, before, after)

    def _give_back(self, reservations):
        for reservation in reservations:
            command = sequences.give_back_command(
                reservation.collection, reservation.before, reservation.after
            )
            try:
                self.execute_command(command, transactional=False)
            except django_errors.DatabaseError as error:  # the gap stays, as on PostgreSQL
                logger.warning("ids of %s not given back: %s", reservation.collection, error)

    def _close(self):
        if self.connection is not None:
            self.connection.close()

    def is_usable(self):
        try:
            self.connection.client.admin.command("ping")
        except mongo_errors.PyMongoError:
            return False
        return True

    def _session(self):
        """The session to pass with a command: the open transaction's, or None."""
        if self.get_autocommit() or not self.features.supports_transactions:
            return None
        return self.connection.transaction_session()

    # -- running commands -----------------------------------------------------------------

    def execute_command(self, command, *, transactional=True, wait=True):
        """Run a ``MongoCommand``: in the open transaction, recorded, errors translated.

        ``transactional=False`` runs it outside any transaction (sequence reservations: like
        SQL sequences they must not roll back or conflict between transactions). In a
        transaction, a write that meets a document another transaction holds waits for it,
        as on PostgreSQL (MongoDB answers WriteConflict and aborts ours: it is resumed and the
        write retried, up to ``LOCK_TIMEOUT``), unless ``wait=False``.
        """
        intercept = COMMAND_INTERCEPTOR.get()
        if intercept is not None:
            return intercept(self, command, transactional)
        self.ensure_connection()
        self.validate_no_broken_transaction()
        # _session(), without get_autocommit()'s second ensure_connection().
        session = (
            self.connection.transaction_session()
            if transactional and not self.autocommit and self.features.supports_transactions
            else None
        )
        if session is None:
            with self.recording(command):
                return command.run(self.connection.database, None)
        log = self.connection.log
        if log.server_aborted:
            raise django_errors.InternalError(
                "The transaction was aborted by a failed statement (MongoDB aborts a "
                "transaction on any error); no command runs in it until it is rolled back. "
                "Run the statement that may fail in an inner atomic() block to go on after it."
            )
        deadline = time.monotonic() + self.lock_timeout if wait else None

        def run():
            try:
                return self._run_in_transaction(command, self._session())
            except django_errors.DatabaseError as error:
                if errors.error_code(error.__cause__) != errors.NO_SUCH_TRANSACTION:
                    if wait and _held_elsewhere(error):
                        raise Held(error) from error.__cause__
                    raise
            # The server aborted the transaction on its own (its lifetime limit, a failover):
            # resume it and run the statement once more.
            self._resume(deadline)
            return self._run_in_transaction(command, self._session())

        def timed_out(error):
            return django_errors.OperationalError(
                f"{error} (waited LOCK_TIMEOUT={self.lock_timeout:g} s for another "
                "transaction to release the document)"
            )

        result = retry_while_held(
            run, deadline=deadline, give_up=timed_out, before_retry=lambda: self._resume(deadline)
        )
        log.record(command)
        return result

    def _run_in_transaction(self, command, session):
        try:
            with self.recording(command):
                return command.run(self.connection.database, session)
        except django_errors.DatabaseError as error:
            self.note_failure(error.__cause__)
            raise

    def note_failure(self, error):
        """A statement of the open transaction failed: unless the error was raised before
        anything reached the server, the server has aborted the transaction."""
        if (
            isinstance(error, SERVER_ERRORS)
            and self.connection is not None
            and not self.get_autocommit()
        ):
            self.connection.log.server_aborted = True

    def recording(self, command, *, path=""):
        """Around one command, on the sync or the async path (``path`` says which in the log):
        time it into ``connection.queries``, log it, turn pymongo's errors into Django's."""
        return _Recording(self, command, path)

    def wrap_mongo_errors(self):
        """A context manager translating errors raised while iterating a cursor."""
        return _TranslateErrors(self)


def _held_elsewhere(error):
    """MongoDB's WriteConflict: another transaction has written the document (or a key)."""
    return errors.error_code(error.__cause__) == errors.WRITE_CONFLICT


def _replay_failed(failure):
    """The error of a resume whose replay of ``(command, error)`` failed."""
    command, error = failure
    return django_errors.OperationalError(
        "The transaction could not go on in a new server transaction (after a rollback to a "
        "savepoint, or after MongoDB aborted it): running its earlier write "
        f"{_shorten(command)} again failed ({error}). Another client changed the data "
        "meanwhile; roll the whole transaction back."
    )


def _shorten(command, limit=300):
    text = str(command)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _host_port(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Recording:
    """``DatabaseWrapper.recording()``: a class rather than a generator-based context manager,
    since every command goes through it."""

    __slots__ = ("command", "path", "started", "wrapper")

    def __init__(self, wrapper, command, path):
        self.wrapper = wrapper
        self.command = command
        self.path = path
        self.started = None

    def __enter__(self):
        wrapper = self.wrapper
        if wrapper.queries_logged or wrapper.command_observers:
            self.started = time.monotonic()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        wrapper, command = self.wrapper, self.command
        if self.started is not None:
            duration = time.monotonic() - self.started
            if wrapper.queries_logged:
                wrapper.queries_log.append({"sql": str(command), "time": f"{duration:.3f}"})
            for observe in wrapper.command_observers:
                observe(wrapper, command, duration)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s (%s%s)", command, wrapper.alias, self.path)
        if exc_type is not None and issubclass(exc_type, MONGO_ERRORS):
            raise wrapper._translate(exc_value, collection=command.collection) from exc_value
        return False


class _TranslateErrors:
    __slots__ = ("wrapper",)

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is not None and issubclass(exc_type, MONGO_ERRORS):
            self.wrapper.note_failure(exc_value)
            raise self.wrapper._translate(exc_value) from exc_value
        return False
