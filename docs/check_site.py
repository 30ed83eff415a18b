"""Check the built site in a headless browser: navigation, search, version switcher.

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python docs/check_site.py            # needs Debian's chromium (apt-get install chromium)

Serves ``docs/_build/html`` on a loopback port and loads pages in headless
Chromium with JavaScript running, then checks that the top navigation holds
exactly the four sections, that the search page finds every estimator's API
page, and that the version switcher loaded its entry. Exits non-zero with
the failures listed.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

SITE = Path(__file__).resolve().parent / "_build" / "html"
NAV = ["User guide", "Gallery", "API reference", "Benchmarks"]
NAMES = {"DDTLHasher": "sklproxy.hashing.DDTLHasher", "CrPCA": "sklproxy.hashing.CrPCA",
         "DHOGClusterer": "sklproxy.cluster.DHOGClusterer",
         "LADDebiaser": "sklproxy.debias.LADDebiaser",
         "LADClassifier": "sklproxy.debias.LADClassifier",
         "ImageClassifier": "sklproxy.classification.ImageClassifier",
         "HammingIndex": "sklproxy.neighbors.HammingIndex"}
CHROMIUM = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--virtual-time-budget=8000", "--dump-dom"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # no request log
        pass


def dom(browser: str, url: str, profile: str) -> str:
    out = subprocess.run([browser, *CHROMIUM, f"--user-data-dir={profile}", url],
                         capture_output=True, text=True, timeout=120)
    return out.stdout


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None or not SITE.is_dir():
        print("needs chromium on PATH and a built site in docs/_build/html", file=sys.stderr)
        return 2
    handler = functools.partial(_Quiet, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    profile = str(SITE.parent / "chromium-profile")
    failures = []
    page = dom(browser, f"{base}/index.html", profile)
    nav = re.search(r'<ul class="bd-navbar-elements.*?</ul>', page, re.S)
    links = re.findall(r'class="nav-link[^"]*"[^>]*>\s*([^<]+?)\s*</a>', nav.group(0)) if nav else []
    if links != NAV:
        failures.append(f"top navigation is {links}, expected {NAV}")
    if 'data-active-version-name="' not in page:
        failures.append("the version switcher did not load its JSON")
    for name, target in NAMES.items():
        found = dom(browser, f"{base}/search.html?q={name}", profile)
        if f"generated/{target}.html" not in found:
            failures.append(f"searching {name!r} does not find its API page {target}")
    server.shutdown()
    for line in failures:
        print("FAIL", line)
    print(f"{len(NAV)} sections, {len(NAMES)} searches checked: "
          f"{'all good' if not failures else f'{len(failures)} failure(s)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
