"""Starts a real CKAN 2.12 for the publishing tests, all on 127.0.0.1, and stops it again.

PostgreSQL 15 and Redis come from Debian's packages, CKAN from its own virtual environment (.ckan-venv,
made by `make ckan-env`), and Solr is replaced by the stand-in in solr_stub.py (Solr is not installable here).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from solr_stub import serve as serve_solr

from pipelines.core.browser import free_port

ROOT = Path(__file__).resolve().parents[2]
CKAN = ROOT / ".ckan-venv" / "bin" / "ckan"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class Portal:
    url: str
    token: str
    org: str
    config: Path


def missing() -> str | None:
    """Why the CKAN tests cannot run here, or None."""
    for need, path in (("CKAN (make ckan-env)", CKAN), ("PostgreSQL 15", PG_BIN / "postgres"),
                       ("redis-server", shutil.which("redis-server"))):
        if not path or not Path(path).exists():
            return f"{need} is not installed"
    return None


def _run(*args, **kwargs) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _wait(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process ended early: {process.stdout.read() if process.stdout else ''}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


@contextlib.contextmanager
def ckan_portal():
    work = Path(tempfile.mkdtemp(prefix="ckan-test-"))
    work.chmod(0o755)
    processes: list[subprocess.Popen] = []
    pg_data = work / "pg"
    pg_port, redis_port, solr_port, ckan_port = (free_port() for _ in range(4))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    try:
        # PostgreSQL: a private cluster on a free port, trust authentication on loopback only
        pg_data.mkdir()
        if as_postgres:
            shutil.chown(pg_data, "postgres", "postgres")
        _run(*as_postgres, PG_BIN / "initdb", "-D", pg_data, "--auth=trust", "-U", "postgres", "-E", "UTF8")
        _run(*as_postgres, PG_BIN / "pg_ctl", "-D", pg_data, "-w", "-l", pg_data / "log", "-o",
             f"-p {pg_port} -k {pg_data} -c listen_addresses=127.0.0.1", "start")
        psql = [PG_BIN / "psql", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-c"]
        _run(*psql, "CREATE USER ckan PASSWORD 'ckan'")
        _run(*psql, "CREATE DATABASE ckan OWNER ckan ENCODING 'UTF8'")

        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(redis)
        solr = serve_solr(solr_port)
        threading.Thread(target=solr.serve_forever, daemon=True).start()

        # CKAN: configuration, database, a sysadmin with an API token, an organization
        config = work / "ckan.ini"
        ckan = [CKAN, "-c", config]
        _run(CKAN, "generate", "config", config)
        storage = work / "storage"
        storage.mkdir()
        _run(CKAN, "config-tool", config,
             f"sqlalchemy.url=postgresql://ckan:ckan@127.0.0.1:{pg_port}/ckan",
             f"ckan.site_url=http://127.0.0.1:{ckan_port}", f"solr_url=http://127.0.0.1:{solr_port}/solr/ckan",
             f"ckan.redis.url=redis://127.0.0.1:{redis_port}/0", f"ckan.storage_path={storage}",
             "ckan.plugins=", "ckan.max_resource_size=50")
        _run(*ckan, "db", "init")
        _run(*ckan, "user", "add", "publisher", "email=publisher@example.invalid", "password=correct-horse-battery")
        _run(*ckan, "sysadmin", "add", "publisher")
        token = _run(*ckan, "user", "token", "add", "publisher", "tests").strip().splitlines()[-1].strip()
        server = subprocess.Popen([str(a) for a in (*ckan, "run", "--host", "127.0.0.1", "--port", ckan_port)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        processes.append(server)
        url = f"http://127.0.0.1:{ckan_port}"
        _wait(f"{url}/api/3/action/status_show", server)
        request = urllib.request.Request(f"{url}/api/3/action/organization_create", method="POST",
                                         data=json.dumps({"name": "kz-ct-data"}).encode(),
                                         headers={"Authorization": token, "Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=30)
        yield Portal(url, token, "kz-ct-data", config)
    finally:
        for process in reversed(processes):
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        if (pg_data / "PG_VERSION").exists():
            subprocess.run([*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(pg_data), "-m", "fast", "stop"],
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
