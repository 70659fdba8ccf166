"""Headless Chromium and a free local port: how the tests, the benchmark and `make screenshots` open the pages."""
from __future__ import annotations

# Debian's Chromium without a screen and without reaching out to the network: how every page of the portal and the
# report is opened by the tests and `make screenshots`.
HEADLESS_CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
