"""A PostgreSQL server for the coordinator tests: the one CI names, or a throwaway cluster.

`ALAYA_TEST_POSTGRES_URL` (e.g. `postgresql://postgres@127.0.0.1:5432/postgres`) names a
server where the tests may create and drop databases. Without it, `initdb` and `pg_ctl`
(on PATH, else Debian's /usr/lib/postgresql/<ver>/bin) start a cluster in a temporary folder
(in /dev/shm when it has room), on a free port, with its socket in that folder and fsync off
(a test cluster that crashes is thrown away anyway), run as the `postgres` OS user when we
are root: the server refuses root.

Each test gets its own database, cloned from a template that already holds the schema at
alembic head (`CREATE DATABASE … TEMPLATE`), so no test pays for the migrations (the app's own
`migrate()` finds the database at head and does nothing). The clones are made ahead of need
and dropped afterwards by a background thread: a test takes a ready database.
"""

from __future__ import annotations

import os
import pwd
import queue
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

URL_ENV = "ALAYA_TEST_POSTGRES_URL"
REQUIRE_ENV = "ALAYA_REQUIRE_POSTGRES"
# read at import: the suite's autouse fixture removes ALAYA_* variables around every test
CONFIGURED_URL = os.environ.get(URL_ENV) or None
REQUIRED = os.environ.get(REQUIRE_ENV, "") not in ("", "0")
OS_USER = "postgres"
SPARES = 2  # databases cloned ahead of need
SETTINGS = {  # speed over durability: nothing in a test cluster must survive a crash
    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
    "max_connections": "300", "listen_addresses": "127.0.0.1",
}


class PostgresUnavailable(RuntimeError):
    """No server was named and no PostgreSQL binaries were found to start one."""


def find_bin_dir() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: PATH first, else the newest Debian version."""
    on_path = shutil.which("pg_ctl")
    if on_path and (Path(on_path).resolve().parent / "initdb").exists():
        return Path(on_path).resolve().parent
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl") if (p.parent / "initdb").exists()]
    return max(found, key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0, default=None)


def _memory_dir() -> str | None:
    """/dev/shm when it has room: cloning a database there takes ~20 ms instead of ~300 ms on
    a disk (measured on the dev machine); a container's 64 MB /dev/shm is too small."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= 1 << 30:
        return shm
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """`initdb` + `pg_ctl start` in a temporary folder; `stop()` kills it and removes the folder."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="alaya-pg-", dir=_memory_dir()))
        self.data = self.dir / "data"
        self.port = 0
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(OS_USER)
            except KeyError:
                raise PostgresUnavailable(f"running as root and there is no {OS_USER!r} OS user to run "
                                          "PostgreSQL as") from None
            shutil.chown(self.dir, OS_USER, OS_USER)
            self._as_user = ["runuser", "-u", OS_USER, "--"]

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self._as_user, str(self.bin_dir / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if done.returncode != 0:
            log = self.dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{tail}")

    def start(self) -> str:
        """Start the server and return its admin URL (user `postgres`, trust on loopback)."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        for attempt in range(3):  # the free port may be taken between our probe and the server's bind
            self.port = free_port()
            options = " ".join([f"-p {self.port}", f"-k {self.dir}"] + [f"-c {k}={v}" for k, v in SETTINGS.items()])
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", options,
                          "-w", "-t", "60", "start")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass  # best effort: the folder goes anyway
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """Hands out a fresh database per test (a clone of a migrated template) and drops it after.

    A worker thread, on a connection of its own, clones `SPARES` databases ahead of need and
    drops used ones, so a test waits for neither while the server copies files."""

    def __init__(self, admin_url: str, cluster: Cluster | None = None) -> None:
        self.url: URL = make_url(admin_url).set(drivername="postgresql+psycopg")
        self.cluster = cluster
        self._admin = self._connect()
        self._template: str | None = None
        self._jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._spares: queue.Queue[str | BaseException] = queue.Queue()
        self._worker: threading.Thread | None = None

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url.set(drivername="postgresql").render_as_string(hide_password=False),
                               autocommit=True)

    def database_url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        self._admin.execute(sql)  # type: ignore[arg-type]  # names are ours: t_<hex>

    def template(self) -> str:
        """A database at alembic head with no rows, built once per session."""
        if self._template is None:
            from coordinator.db import CoordinatorDB

            name = f"alaya_tmpl_{secrets.token_hex(4)}"  # unique: a shared CI server may run several suites
            self._execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            db = CoordinatorDB(self.database_url(name))
            try:
                db.migrate()
            finally:
                db.close()
            self._template = name
        return self._template

    def _work(self, conn: psycopg.Connection) -> None:
        with conn:
            while (job := self._jobs.get()) is not None:
                kind, name = job
                try:
                    if kind == "create":
                        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')  # type: ignore[arg-type]
                        self._spares.put(name)
                    else:
                        conn.execute(_drop_sql(name))  # type: ignore[arg-type]
                except Exception as exc:  # handed to the test that waits for this database
                    if kind == "create":
                        self._spares.put(exc)

    def create_database(self, *, migrated: bool = True) -> str:
        """A new database; `migrated=False` gives a truly empty one (no schema)."""
        if not migrated:
            name = _new_name()
            self._execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            return self.database_url(name)
        if self._worker is None:
            self.template()
            self._worker = threading.Thread(target=self._work, args=(self._connect(),), daemon=True,
                                            name="postgres-spares")
            self._worker.start()
            for _ in range(SPARES - 1):
                self._jobs.put(("create", _new_name()))
        self._jobs.put(("create", _new_name()))  # the replacement of the one taken now
        got = self._spares.get(timeout=300)
        if isinstance(got, BaseException):
            raise got
        return self.database_url(got)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database or ""
        if self._worker is not None and self._worker.is_alive():
            self._jobs.put(("drop", name))
        else:
            self._execute(_drop_sql(name))

    def close(self) -> None:
        try:
            if self._worker is not None:
                self._jobs.put(None)
                self._worker.join(timeout=120)
                while not self._spares.empty():
                    spare = self._spares.get()
                    if isinstance(spare, str):
                        self._execute(_drop_sql(spare))
            if self._template:
                self._execute(_drop_sql(self._template))
            self._admin.close()
        finally:
            if self.cluster:
                self.cluster.stop()


def _new_name() -> str:
    return f"t_{secrets.token_hex(6)}"


def _drop_sql(name: str) -> str:
    # FORCE (PostgreSQL 13+): a test that leaked an engine must not leak its database
    return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'


def start(configured_url: str | None = CONFIGURED_URL) -> PostgresServer:
    """The server named by ALAYA_TEST_POSTGRES_URL, else a throwaway cluster."""
    if configured_url:
        return PostgresServer(configured_url)
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable("no PostgreSQL server: set ALAYA_TEST_POSTGRES_URL or install initdb/pg_ctl "
                                  "(Debian: apt-get install postgresql)")
    cluster = Cluster(bin_dir)
    try:
        return PostgresServer(cluster.start(), cluster)
    except BaseException:
        cluster.stop()
        raise
