"""A throwaway PgBouncer in front of a test PostgreSQL server (see pg_server.py): Debian's
``pgbouncer`` on 127.0.0.1 on a free port, in ``transaction`` or ``session`` pool mode,
run as ``nobody`` when run as root (PgBouncer refuses to run as root)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from pg_server import DROP, PostgresServer, Unavailable, _free_port


def _binary() -> str:
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )
    if found is None:
        raise Unavailable("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    return found


class PgBouncer:
    """One running PgBouncer; :meth:`url` gives a URL of the server's database through it."""

    def __init__(self, server: PostgresServer, mode: str) -> None:
        binary = _binary()
        self.server = server
        self.mode = mode
        self.folder = Path(tempfile.mkdtemp(prefix=f"costbook-pgbouncer-{mode}-"))
        os.chmod(self.folder, 0o755)
        self.port = _free_port()
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={server.port}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.folder / 'users.txt'}\n"
            f"pool_mode = {mode}\n"
            "max_client_conn = 400\n"
            "default_pool_size = 60\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
        )
        prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                raise Unavailable("running as root without setpriv to run pgbouncer as nobody")
            prefix = DROP
            shutil.chown(self.folder, "nobody")
            for name in ("users.txt", "pgbouncer.ini"):
                shutil.chown(self.folder / name, "nobody")
        self.process = subprocess.Popen(
            [*prefix, binary, str(self.folder / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", self.port), timeout=1
            ):
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                error = self.process.stderr.read() if self.process.stderr else ""
                self.stop()
                raise Unavailable(f"pgbouncer did not start: {error.strip()[-500:]}")
            time.sleep(0.05)

    def url(self, server_url: str) -> str:
        """``server_url`` (a database of the server) reached through this PgBouncer."""
        return server_url.replace(f":{self.server.port}/", f":{self.port}/")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        shutil.rmtree(self.folder, ignore_errors=True)
