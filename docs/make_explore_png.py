"""Regenerate docs/explore.png (and a phone view) from a run, with headless Chromium.

    python docs/make_explore_png.py runs/latest                       # writes docs/explore.png
                                                                      # (drawn from a default `tinyvae train` run)
    python docs/make_explore_png.py runs/latest --phone docs/explore_phone.png

The script writes the run's page (as ``tinyvae explore`` does), opens it in headless Chromium at
1280×900, and uses it as a learner would: draws a "2" on the drawing canvas, clicks two points for an
interpolation, points at a test dot; then saves the screenshot. With ``--phone``, it also opens the
page at 390×844 (a phone, touch), puts a finger on the plane and saves that screen.

Needs Chromium, its driver (Debian/Ubuntu: ``apt-get install chromium chromium-driver``) and selenium
(the test extra).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# a "2" in the drawing canvas's own units (0..1 across it): the top arc, the diagonal, the base
TWO = [(0.30, 0.30), (0.38, 0.20), (0.52, 0.17), (0.64, 0.22), (0.68, 0.33), (0.64, 0.45), (0.52, 0.57),
       (0.40, 0.68), (0.30, 0.80), (0.45, 0.80), (0.60, 0.80), (0.72, 0.80)]


def browser(width: int, height: int, *, mobile: bool):
    """Headless Chromium at width × height CSS pixels (a phone: touch, and twice the pixels)."""
    from selenium import webdriver

    chromium, driver = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (chromium and driver):
        sys.exit("make_explore_png: needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},{height}",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
        options.add_argument(flag)
    d = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                            "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile})
    if mobile:
        d.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    return d


def open_page(d, page: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    d.get(page.as_uri())
    WebDriverWait(d, 30).until(lambda d: d.execute_script("return window.tinyvae && window.tinyvae.ready"))


def drag(d, element_id: str, points: list[tuple[float, float]], kind: str = "mouse") -> None:
    """A stroke through ``points`` (0..1 of the element's box), by mouse or by touch (DevTools input)."""
    box = d.execute_script(f"var r = document.getElementById('{element_id}').getBoundingClientRect();"
                           "return [r.left, r.top, r.width, r.height];")
    xy = [(box[0] + u * box[2], box[1] + v * box[3]) for u, v in points]
    if kind == "touch":
        for i, (x, y) in enumerate(xy):
            d.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchStart" if i == 0 else "touchMove",
                                                            "touchPoints": [{"x": x, "y": y}]})
        return  # the finger stays on the screen
    for i, (x, y) in enumerate(xy):
        d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, "button": "left",
                                                        "buttons": 1 if i else 0})
        if i == 0:
            d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": y, "button": "left",
                                                            "buttons": 1, "clickCount": 1})
    d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": xy[-1][0], "y": xy[-1][1],
                                                    "button": "left", "clickCount": 1})


def plane_point(d, a: float, b: float) -> tuple[float, float]:
    """Where the plane point (a, b) is on the plane element, as fractions of its box."""
    x, y = d.execute_script("return window.tinyvae.screenXY(arguments[0], arguments[1])", a, b)
    box = d.execute_script("var r = document.getElementById('plane').getBoundingClientRect();"
                           "return [r.left, r.top, r.width, r.height];")
    return (x - box[0]) / box[2], (y - box[1]) / box[3]


def desktop(page: Path, out: Path, ends: tuple[tuple[float, float], tuple[float, float]], dot: int) -> None:
    d = browser(1280, 900, mobile=False)
    try:
        open_page(d, page)
        drag(d, "draw", TWO)
        for end in ends:  # two clicks: the ends of an interpolation
            drag(d, "plane", [plane_point(d, *end)])
        time.sleep(2)  # the walk from A to B
        a, b = d.execute_script("return window.tinyvae.dot(arguments[0])", dot)
        u, v = plane_point(d, a, b)
        d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 0, "y": 0})
        box = d.execute_script("var r = document.getElementById('plane').getBoundingClientRect();"
                               "return [r.left, r.top, r.width, r.height];")
        d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0] + u * box[2],
                                                        "y": box[1] + v * box[3]})
        height = d.execute_script("return document.documentElement.scrollHeight")
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": height,
                                                                "deviceScaleFactor": 1, "mobile": False})
        d.save_screenshot(str(out))  # the whole page, its interpolation strip included
    finally:
        d.quit()


def phone(page: Path, out: Path, finger: tuple[float, float]) -> None:
    d = browser(390, 844, mobile=True)
    try:
        open_page(d, page)
        d.execute_script("window.scrollTo(0, document.getElementById('plane').getBoundingClientRect().top - 200)")
        drag(d, "plane", [(0.5, 0.5), plane_point(d, *finger)], kind="touch")
        d.save_screenshot(str(out))
    finally:
        d.quit()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="a run directory (its checkpoint.npz and data)")
    p.add_argument("--out", default=str(ROOT / "docs" / "explore.png"),
                   help="the desktop screenshot (default docs/explore.png)")
    p.add_argument("--phone", help="also a phone screenshot (390×844) here")
    p.add_argument("--ends", type=float, nargs=4, default=[-3.0, 2.5, 0.3, -3.0], metavar=("A1", "A2", "B1", "B2"),
                   help="the interpolation's ends on the plane (default -3 2.5 0.3 -3: from the 0s to the 1s of the "
                   "default run)")
    p.add_argument("--dot", type=int, default=3, help="the test image whose dot the pointer ends on (default 3)")
    args = p.parse_args()
    from tinyvae.cli import main as tinyvae

    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "explore.html"
        if tinyvae(["explore", args.run_dir, "--out", str(page)]) != 0:
            return 2
        desktop(page, Path(args.out), (tuple(args.ends[:2]), tuple(args.ends[2:])), args.dot)
        print(f"wrote {args.out}")
        if args.phone:
            phone(page, Path(args.phone), (args.ends[2], args.ends[3]))
            print(f"wrote {args.phone}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
