"""Throwaway servers for the tests: a PostgreSQL cluster and a Redis server on free loopback ports."""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_unprivileged(cmd):
    """initdb refuses root: run the cluster as the `postgres` system user when we are root."""
    if os.getuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class Postgres:
    """A private cluster in a fresh directory of its own (owned by `postgres` when we are root)."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="diwan-pg-"))
        self.dir = self.base / "pgdata"
        self.port = free_port()
        self.url = f"postgresql://app@127.0.0.1:{self.port}/diwan"

    def start(self):
        self.dir.mkdir()
        if os.getuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.base, pg.pw_uid, pg.pw_gid)
            os.chown(self.dir, pg.pw_uid, pg.pw_gid)
        subprocess.run(_as_unprivileged([str(PG_BIN / "initdb"), "-D", str(self.dir), "-U", "app", "--auth=trust",
                                         "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c full_page_writes=off"
        subprocess.run(_as_unprivileged([str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-w", "-l",
                                         str(self.dir / "log"), "-o", options, "start"]), check=True,
                       capture_output=True)
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "app", "-d", "postgres", "-q",
                        "-c", "CREATE DATABASE diwan"], check=True, capture_output=True)
        return self

    def stop(self):
        pid_file = self.dir / "postmaster.pid"
        if pid_file.exists():
            subprocess.run(_as_unprivileged([str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w",
                                             "stop"]), capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


class Redis:
    def __init__(self, base: Path):
        self.dir = base / "redis"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.dir.mkdir(parents=True)
        subprocess.run([shutil.which("redis-server") or "/usr/bin/redis-server", "--bind", "127.0.0.1",
                        "--port", str(self.port), "--save", "", "--appendonly", "no", "--daemonize", "yes",
                        "--pidfile", str(self.dir / "redis.pid"), "--dir", str(self.dir)], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        pid_file = self.dir / "redis.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), 15)


ROOT = Path(__file__).resolve().parents[1]


def huey_consumer(app, queue_url: str, log_path, workers: int = 1, **settings) -> subprocess.Popen:
    """A real `huey_consumer jobs.huey` (thread workers, periodic tasks off) on the test's database, in a
    session of its own so that a test can kill it with everything it started; `settings` become INTRANET_*."""
    env = dict(os.environ, INTRANET_HUEY_URL=queue_url, INTRANET_DATABASE_URL=app.config["DATABASE_URL"],
               INTRANET_INSTANCE_DIR=str(Path(log_path).parent), INTRANET_SECRET_KEY="test",
               **{f"INTRANET_{name.upper()}": str(value) for name, value in settings.items()})
    return subprocess.Popen([sys.executable, "-m", "huey.bin.huey_consumer", "jobs.huey", "-k", "thread",
                             "-w", str(workers), "-d", "0.05", "-m", "0.1", "-n"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log_path, "w"), start_new_session=True)


def wait_for(condition, seconds: float, every: float = 0.05) -> bool:
    """Poll `condition` until it holds or the seconds are up; its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
