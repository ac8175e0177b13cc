"""A PostgreSQL server of one's own, to kill: `initdb` and `pg_ctl` in a temporary folder, on
a free loopback port, with trust authentication. The nightly-fault tests and the soak kill it
with SIGKILL in the middle of a run and start it again (crash recovery), which the machine's
shared server cannot be put through.

As root, the server's programs run as the `postgres` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

DATABASE = "postgres"
USER = "postgres"


def server_programs() -> Path:
    """The folder of the newest installed PostgreSQL's `initdb`, `pg_ctl` and `postgres`."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=_version)
    if not versions:
        raise RuntimeError("no PostgreSQL server programs (initdb, pg_ctl) on this machine")
    return versions[-1].parent


def _version(pg_ctl: Path) -> int:
    return int(pg_ctl.parent.parent.name) if pg_ctl.parent.parent.name.isdigit() else 0


class OwnPostgres:
    """`start()` makes the cluster on first use; `kill()` is the crash; `stop()` removes it."""

    def __init__(self) -> None:
        self.bin = server_programs()
        # Under /tmp, not a test's private folder: the postgres user must reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="persona-ranker-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"
        )

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> OwnPostgres:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )
        return self

    def kill(self) -> None:
        """SIGKILL to the server and every backend, as a machine losing the process would:
        no shutdown, no flush; the next start recovers from the write-ahead log."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        for pid in [postmaster, *_children(postmaster)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.05)
        # A killed server's children may linger as zombies where nothing reaps them (a
        # container's first process), and PostgreSQL takes a zombie's pid in a lock file for a
        # live server: the locks go, as a restarted machine's would.
        for lock in (self.data / "postmaster.pid", self.folder / f".s.PGSQL.{self.port}.lock"):
            lock.unlink(missing_ok=True)

    def answers(self) -> bool:
        try:
            psycopg2.connect(self.url, connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> OwnPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr.strip() or done.stdout.strip()}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
