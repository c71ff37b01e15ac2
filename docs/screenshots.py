"""Open pages of the built site in headless Chromium, check how they look, save screenshots.

    python docs/screenshots.py [--site docs/_build/html] [--out docs/_build/screenshots]

For each page (the landing page, the API page of ``systolic.matmul``, a guide) at a
laptop's window size it checks that the navigation is visible, that code is highlighted,
that every picture has loaded and that the page does not scroll sideways, and saves a PNG.
The browser is driven over the DevTools protocol (with tornado's websocket client, which
Dask already installs), on 127.0.0.1, with a timeout, and stopped in ``finally``. Exit
status 0 when every check passes, 1 when one fails, 2 when no Chromium is installed.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tornado.ioloop import IOLoop
from tornado.websocket import websocket_connect

WIDTH, HEIGHT = 1366, 768  # a laptop's screen
PAGES = {
    "landing": "index.html",
    "api-matmul": "reference/api/matmul.html#systolic.api.matmul",
    "guide": "guides/tpu-v1.html",
}
CHECKS = """(() => {
  const visible = (el) => !!el && el.getBoundingClientRect().width > 0
      && getComputedStyle(el).visibility !== "hidden" && getComputedStyle(el).display !== "none";
  const imgs = [...document.querySelectorAll("article img")];
  return {
    nav: visible(document.querySelector("header nav, .bd-header .navbar-nav")),
    sidebar: visible(document.querySelector(".bd-sidebar-primary")),
    highlighted: document.querySelectorAll("div.highlight span[class]").length,
    images: imgs.length,
    images_loaded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
    scroll_width: document.documentElement.scrollWidth,
    inner_width: window.innerWidth,
  };
})()"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


class Browser:
    """One headless Chromium on 127.0.0.1, driven over its DevTools websocket."""

    def __init__(self, binary: str, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="systolic-docs-chromium-")
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={WIDTH},{HEIGHT}",
                "about:blank",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + timeout
        self.url = None
        while self.url is None:
            line = self.process.stderr.readline()
            if match := re.search(r"DevTools listening on (ws://\S+)", line):
                self.url = match.group(1)
            elif not line and self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Chromium did not start its DevTools endpoint")
        self.loop = IOLoop()
        self.ws = self.loop.run_sync(lambda: websocket_connect(self.url), timeout=timeout)
        self.next_id = 0

    def call(self, method: str, session: str | None = None, **params):
        async def go():
            self.next_id += 1
            message = {"id": self.next_id, "method": method, "params": params}
            if session:
                message["sessionId"] = session
            await self.ws.write_message(json.dumps(message))
            while True:
                reply = json.loads(await self.ws.read_message())
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]

        return self.loop.run_sync(go, timeout=self.timeout)

    def close(self):
        try:
            self.ws.close()
            self.loop.close(all_fds=True)
        finally:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def shoot(browser: Browser, url: str, png: Path) -> dict:
    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
    session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    browser.call("Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=HEIGHT,
                 deviceScaleFactor=1, mobile=False)  # fmt: skip
    browser.call("Page.enable", session)
    browser.call("Page.navigate", session, url=url)
    for _ in range(100):  # the page and its pictures: at most 10 s
        state = browser.call("Runtime.evaluate", session, expression="document.readyState")
        if state["result"]["value"] == "complete":
            break
        time.sleep(0.1)
    time.sleep(0.5)  # the theme's scripts settle the layout
    result = browser.call("Runtime.evaluate", session, expression=CHECKS, returnByValue=True)
    shot = browser.call("Page.captureScreenshot", session, format="png")
    png.write_bytes(base64.b64decode(shot["data"]))
    browser.call("Target.closeTarget", targetId=target)
    return result["result"]["value"]


def problems(name: str, seen: dict) -> list[str]:
    found = []
    # the landing page's sections are the header's links; the other pages have a sidebar too
    if not seen["nav"] or (name != "landing" and not seen["sidebar"]):
        found.append(f"{name}: navigation not visible ({seen})")
    if seen["highlighted"] == 0:
        found.append(f"{name}: no highlighted code")
    if seen["images_loaded"] < seen["images"]:
        found.append(f"{name}: {seen['images'] - seen['images_loaded']} pictures not shown")
    if seen["scroll_width"] > seen["inner_width"]:
        found.append(f"{name}: scrolls sideways ({seen['scroll_width']} > {seen['inner_width']})")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=Path(__file__).parent / "_build" / "html")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "_build" / "screenshots"
    )
    args = parser.parse_args(argv)
    binary = find_chromium()
    if binary is None:
        print("screenshots skipped: no Chromium installed (apt-get install chromium)")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    found = []
    browser = Browser(binary)
    try:
        for name, page in PAGES.items():
            page, _, fragment = page.partition("#")
            path = (args.site / page).resolve()
            if not path.is_file():
                found.append(f"{name}: {path} not built")
                continue
            url = path.as_uri() + (f"#{fragment}" if fragment else "")
            seen = shoot(browser, url, args.out / f"{name}.png")
            print(f"{name:<11} {args.out / (name + '.png')}  {json.dumps(seen)}")
            found += problems(name, seen)
    finally:
        browser.close()
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
