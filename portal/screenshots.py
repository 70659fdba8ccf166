"""Screenshots of the portal for the README and docs/portal.md: a record page, a source page, a table page and the
map of the attacks, taken by headless Chromium from a Datasette started on the built portal (`make screenshots`).
The map's background tiles come from the network, which the machine may not have: its markers show all the same."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipelines.commands.portal import running_server
from pipelines.core.browser import HEADLESS_CHROMIUM, free_port
from pipelines.core.config import load_config

# (file name, page under the database, window height)
PAGES = [("record-page.png", "attacks/attack-2011-taraz", 1700),
         ("source-page.png", "sources/caravanserai-bogatik-2017", 1500),
         ("table-page.png", "attacks", 1000),
         ("attacks-map.png", "attacks", 2300)]
CHROMIUM = [*HEADLESS_CHROMIUM[1:], "--hide-scrollbars", "--virtual-time-budget=15000"]  # time for the map's markers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/img"),
                        help="folder of the PNG files (default: docs/img)")
    args = parser.parse_args()
    browser = shutil.which("chromium")
    if not browser:
        sys.exit("screenshots: Debian's chromium is needed (make browser)")
    config = load_config()
    database = Path(config.params["portal"]["database"]).stem
    args.out.mkdir(parents=True, exist_ok=True)
    with running_server(config, free_port(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as base:
        for name, page, height in PAGES:
            with tempfile.TemporaryDirectory() as profile:
                subprocess.run([browser, *CHROMIUM, f"--user-data-dir={profile}", f"--window-size=1280,{height}",
                                f"--screenshot={args.out / name}", f"{base}/{database}/{page}"],
                               check=True, capture_output=True, timeout=120)
            print(f"{args.out / name}: {base}/{database}/{page}")


if __name__ == "__main__":
    main()
