"""A throwaway PostgreSQL cluster for tests.

``PgServer`` runs ``initdb`` into a fresh temporary directory, starts the server on a free
loopback port with its unix socket inside that directory, and on ``stop()`` shuts it down and
removes everything. Durability settings stay at their defaults (``fsync`` is on): tests rely on
them. ``create_database(name)`` gives each test its own database cheaply.

Environment:

- ``EARNEST_TEST_PG_URL``: use this already running server instead of starting one
  (``postgresql://user@host:port/maintenance_db``; its user must be allowed to CREATE DATABASE).
- ``EARNEST_PG_BINDIR``: the directory holding ``initdb``, ``pg_ctl`` and ``postgres``; otherwise
  ``pg_config --bindir``, then the newest ``/usr/lib/postgresql/*/bin``, then ``PATH``.

As root the server runs as the ``postgres`` OS user (through ``runuser``); as anyone else it
runs as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import LiteralString, Self
from urllib.parse import quote, urlsplit, urlunsplit

EXTERNAL_URL_ENV = "EARNEST_TEST_PG_URL"
BINDIR_ENV = "EARNEST_PG_BINDIR"
_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")
_SUPERUSER = "postgres"
_OS_USER = "postgres"
_START_ATTEMPTS = 3
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "shared_buffers": "128MB",
}


class PgNotFoundError(RuntimeError):
    """The PostgreSQL server binaries (or the ``postgres`` OS user, as root) are missing."""


class PgServer:
    """A PostgreSQL server for tests: a throwaway cluster, or the one in ``EARNEST_TEST_PG_URL``."""

    def __init__(self, *, bindir: Path | None = None, external_url: str | None = None) -> None:
        self._bindir = bindir
        self._external_url = external_url or os.environ.get(EXTERNAL_URL_ENV) or None
        self._as_root = False
        self._tmpdir: Path | None = None
        self._url: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the cluster (or adopt the external server). Raises PgNotFoundError if the
        binaries are missing, RuntimeError if the cluster does not come up."""
        if self._url is not None:
            raise RuntimeError("PgServer already started")
        if self._external_url is not None:
            self._url = self._external_url
            return
        self._bindir = bindir = self._bindir or find_bindir()
        self._as_root = as_root = os.geteuid() == 0
        if as_root:
            try:
                owner = pwd.getpwnam(_OS_USER)
            except KeyError:
                raise PgNotFoundError(
                    f"running as root but there is no {_OS_USER!r} OS user to run PostgreSQL "
                    "(install the postgresql-15 Debian package)"
                ) from None
        self._tmpdir = Path(tempfile.mkdtemp(prefix="earnest-pg-", dir=_tmp_parent(as_root)))
        try:
            if as_root:
                os.chown(self._tmpdir, owner.pw_uid, owner.pw_gid)
            self._init_and_start(bindir)
        except BaseException:
            self.stop()  # a server that came up too late for pg_ctl's wait goes too
            raise

    def stop(self) -> None:
        """Stop the cluster and remove its directory. Safe to call more than once."""
        self._url = None
        if self._tmpdir is None:
            return
        try:
            if self._bindir is not None and (self._data_dir / "postmaster.pid").exists():
                pg_ctl = [str(self._bindir / "pg_ctl"), "-D", str(self._data_dir), "-w", "-t", "60"]
                try:
                    self._run([*pg_ctl, "-m", "fast", "stop"])
                except RuntimeError:
                    with contextlib.suppress(RuntimeError):
                        self._run([*pg_ctl, "-m", "immediate", "stop"])
        finally:
            self._remove_tmpdir()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- use ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL of the server's maintenance database (``postgres``)."""
        if self._url is None:
            raise RuntimeError("PgServer is not started")
        return self._url

    @property
    def external(self) -> bool:
        """Whether this is the server of ``EARNEST_TEST_PG_URL`` rather than a throwaway one."""
        return self._external_url is not None

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` and return a URL to it."""
        self._execute("CREATE DATABASE {}", name)
        return database_url(self.url, name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting its sessions. (A throwaway cluster needs no
        dropping: it goes whole at ``stop()``, and each drop costs a checkpoint.)"""
        self._execute("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    # -- internals ----------------------------------------------------------------------------

    @property
    def _data_dir(self) -> Path:
        assert self._tmpdir is not None
        return self._tmpdir / "data"

    def _init_and_start(self, bindir: Path) -> None:
        assert self._tmpdir is not None
        socket_dir = self._tmpdir / "socket"
        socket_dir.mkdir()
        if self._as_root:
            shutil.chown(socket_dir, _OS_USER, _OS_USER)
        self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self._data_dir),
                "-A",
                "trust",
                "-U",
                _SUPERUSER,
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        settings = {**_SERVER_SETTINGS, "unix_socket_directories": _conf_quote(str(socket_dir))}
        with (self._data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# earnest tests\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        log = self._tmpdir / "server.log"
        for attempt in range(1, _START_ATTEMPTS + 1):
            port = _free_port()
            try:
                self._run(
                    [
                        str(bindir / "pg_ctl"),
                        "-D",
                        str(self._data_dir),
                        "-l",
                        str(log),
                        "-o",
                        f"-p {port}",
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ]
                )
            except RuntimeError as exc:
                # Another process may have taken the port between our probe and the bind.
                if attempt == _START_ATTEMPTS or "could not bind" not in _read(log):
                    raise RuntimeError(f"{exc}\n--- server log ---\n{_read(log)}") from None
                continue
            self._url = f"postgresql://{_SUPERUSER}@127.0.0.1:{port}/postgres"
            return

    def _execute(self, statement: LiteralString, name: str) -> None:
        import psycopg  # only the tests that use PostgreSQL need the driver
        from psycopg import sql

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    def _run(self, argv: list[str]) -> None:
        if self._as_root:
            argv = ["runuser", "-u", _OS_USER, "--", *argv]
        result = subprocess.run(
            argv,
            cwd=self._tmpdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
            )

    def _remove_tmpdir(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


def find_bindir() -> Path:
    """The directory of the PostgreSQL server binaries; raises PgNotFoundError if none."""
    explicit = os.environ.get(BINDIR_ENV)
    if explicit:
        if not _has_binaries(Path(explicit)):
            raise PgNotFoundError(f"{BINDIR_ENV}={explicit} lacks {', '.join(_REQUIRED_BINARIES)}")
        return Path(explicit)
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        # Debian's pg_config comes with libpq-dev too, so its bindir may lack the server.
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for candidate in candidates:
        if _has_binaries(candidate):
            return candidate
    raise PgNotFoundError(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found via "
        f"{BINDIR_ENV}, pg_config --bindir, /usr/lib/postgresql/*/bin or PATH "
        "(on Debian: apt-get install postgresql-15)"
    )


def database_url(server_url: str, name: str) -> str:
    """``server_url`` with its database replaced by ``name``."""
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a postgresql:// URL: {server_url!r}")
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


def _has_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _REQUIRED_BINARIES)


def _version_key(bindir: Path) -> tuple[int, ...]:
    """``/usr/lib/postgresql/15/bin`` -> ``(15,)``, so that 15 sorts above 9.6."""
    try:
        return tuple(int(part) for part in bindir.parent.name.split("."))
    except ValueError:
        return (-1,)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tmp_parent(as_root: bool) -> str | None:
    """Where to make the temp dir: the default, unless as root it is not reachable by the
    ``postgres`` user (say ``TMPDIR`` under ``/root``), then ``/tmp``."""
    default = Path(tempfile.gettempdir()).resolve()
    if not as_root:
        return None
    for directory in (default, *default.parents):
        if not directory.stat().st_mode & stat.S_IXOTH:
            return "/tmp"
    return None


def _conf_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
