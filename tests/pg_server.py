"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` and ``pg_ctl`` in a
temporary folder, listening on 127.0.0.1 on a free port, run as ``nobody`` when run as
root (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

DROP = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


class Unavailable(Exception):
    """Why no server can be started here."""


def _binaries() -> Path:
    """The folder of initdb and pg_ctl: on PATH, else the newest under /usr/lib/postgresql."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                     key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                     else 0)
    for folder in reversed(folders):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise Unavailable("initdb and pg_ctl are not installed (Debian: apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One running server; :meth:`new_database` gives the URL of a fresh database."""

    def __init__(self, *, durable: bool = False) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise Unavailable(f"psycopg is not installed ({exc})") from None
        self.bin = _binaries()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                raise Unavailable("running as root without setpriv to run PostgreSQL as nobody")
            self.prefix = DROP
        self.folder = Path(tempfile.mkdtemp(prefix="costbook-pg-"))
        os.chmod(self.folder, 0o755)
        if self.prefix:
            shutil.chown(self.folder, "nobody")
        self.data = self.folder / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._run(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        self._options = (f"-h 127.0.0.1 -p {self.port} -k {self.folder} "
                         "-c max_connections=200 -c shared_buffers=64MB")
        if not durable:  # a throwaway server: its own crash safety is not under test
            # (without fsync, what a commit wrote survives a crash of the server's
            # processes, which is what is tested; not a crash of the machine)
            self._options += " -c fsync=off -c full_page_writes=off"
        self.start()

    def start(self) -> None:
        """Start the server (again, after :meth:`crash`), on the same port."""
        self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
                   "-t", "60", "-o", self._options, "start"])

    def crash(self) -> None:
        """Stop the server at once, as a crash would: ``pg_ctl stop -m immediate`` (its
        processes end without writing out what they hold in memory)."""
        self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def _run(self, command: list[str]) -> None:
        command = [*self.prefix, str(self.bin / command[0]), *command[1:]]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.folder / "log"
            tail = log.read_text()[-1000:] if log.exists() else ""
            raise Unavailable(
                f"{' '.join(command)} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-1000:]} {tail}"
            )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"ledger_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(Unavailable, subprocess.TimeoutExpired):
            self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.folder, ignore_errors=True)
