"""Command portal: serve the database of the database stage with Datasette on 127.0.0.1, with the portal's templates,
plugin and style sheets (params.yaml paths.portal_templates, portal_plugins, portal_static); Ctrl-C or SIGTERM stops it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.config import Config, load_config
from ..core.errors import command_arguments
from ..stages.database import STATIC_MOUNT


def datasette_command(config: Config, port: int) -> tuple[list[str], dict]:
    """The command line and environment that serve the exported database with the portal's templates, plugin
    and style sheet on 127.0.0.1:`port`. The plugin imports pipelines.core.passages, hence the PYTHONPATH."""
    out_dir, knobs = config.path("portal_dir"), config.params["portal"]
    datasette = Path(sys.executable).parent / "datasette"
    argv = [str(datasette), "serve", "--immutable", str(out_dir / knobs["database"]),
            "--metadata", str(out_dir / "metadata.json"),
            "--template-dir", str(config.path("portal_templates")), "--plugins-dir", str(config.path("portal_plugins")),
            "--static", f"{STATIC_MOUNT}:{config.path('portal_static')}",
            "--host", "127.0.0.1", "--port", str(port)]
    path = os.pathsep.join(filter(None, [str(config.root), os.environ.get("PYTHONPATH")]))
    return argv, {**os.environ, "PYTHONPATH": path}


def _die_with_parent() -> None:
    """In the server's process, before exec: the kernel sends it SIGTERM if the process that started it dies
    (even by SIGKILL), so that no server is left behind."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_server(config: Config, port: int, **popen) -> subprocess.Popen:
    argv, env = datasette_command(config, port)
    return subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent if sys.platform == "linux" else None, **popen)


def stop_server(server: subprocess.Popen, grace: float = 10) -> int:
    """SIGTERM, then SIGKILL if the server has not stopped within `grace` seconds; its exit code."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            server.kill()
    return server.wait()


@contextmanager
def running_server(config: Config, port: int, **popen) -> Iterator[str]:
    """A Datasette serving the portal, up and answering, for the with-block; stopped after it. Yields its base URL."""
    server = start_server(config, port, **popen)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError(f"datasette exited with code {server.returncode} before it answered")
            try:
                urllib.request.urlopen(f"{base}/-/versions.json", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"datasette did not answer on {base} within 30 s")
        yield base
    finally:
        stop_server(server)


class _Stopped(Exception):
    pass


def serve(config: Config, port: int) -> int:
    """Serve the portal until this process is told to stop (SIGINT, SIGTERM, SIGHUP) or its parent dies (make
    killed), then stop the server and wait for it: nothing is left listening on the port."""
    def stop(signum, frame):
        raise _Stopped(signum)

    parent = os.getppid()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    server = start_server(config, port)
    try:
        while server.poll() is None and os.getppid() == parent:
            try:
                server.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    except _Stopped:
        pass
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the wait for the server short
        stop_server(server)
    return 0


def main(argv: list[str] | None = None) -> int:
    command_arguments("python -m pipelines portal", __doc__).parse_args(argv)
    return serve(load_config(), int(os.environ.get("PORT", "8001")))


if __name__ == "__main__":
    sys.exit(main())
