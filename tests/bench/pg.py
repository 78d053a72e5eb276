"""A throwaway PostgreSQL cluster for the benchmark: its own directory, a free loopback port, stopped and removed
afterwards. initdb refuses root, so as root the cluster runs as the `postgres` system user (see SETUP.md)."""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unprivileged(cmd):
    return ["runuser", "-u", "postgres", "--", *cmd] if os.getuid() == 0 else cmd


class PostgresCluster:
    """`with PostgresCluster() as pg: pg.url` -- a superuser `app` (trust auth) and a database `diwan`."""

    def __init__(self, parent: str | None = None, settings: dict | None = None):
        self.base = Path(tempfile.mkdtemp(prefix="diwan-bench-pg-", dir=parent))
        self.data = self.base / "data"
        self.port = free_port()
        self.url = f"postgresql://app@127.0.0.1:{self.port}/diwan"
        self.settings = settings or {}
        self.started = False

    def _run(self, cmd):
        done = subprocess.run(_unprivileged(cmd), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def start(self):
        if os.getuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "app", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8"])
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data}"
        options += "".join(f" -c {key}={value}" for key, value in self.settings.items())
        self.started = True
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.base / "log"), "-o", options,
                   "start"])
        self._run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "app", "diwan"])
        return self

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self):
        if self.started and (self.data / "postmaster.pid").exists():
            subprocess.run(_unprivileged([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                           capture_output=True)
        self.started = False
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
