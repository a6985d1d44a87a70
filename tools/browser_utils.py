"""Helpers for tests/test_browser.py: notebooks to HTML pages served from localhost, opened in headless Chromium.

nbconvert's `HTMLExporter` makes pages that load require.js, MathJax and the Jupyter widgets html-manager (which
renders the widget state saved in the notebook) from CDNs. Here there is no internet, so the pages load local copies
instead: the npm packages below, unpacked once into a cache folder (`npm pack`, no dependencies needed: the
html-manager's `embed-amd.js` is a self-contained bundle) and served with the pages by a small HTTP server on
127.0.0.1. Chromium resolves no other host, so a page that still reaches for the internet fails fast with a console
error instead of hanging.

    python tools/browser_utils.py            # fetch the npm packages into the cache now (CI can run this once)

Environment: DC_BROWSER_ASSETS (cache folder, default ~/.cache/diffusion_course/browser-assets),
CHROMIUM / CHROMEDRIVER (binaries, default found on PATH).
"""
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ASSETS = Path(os.environ.get("DC_BROWSER_ASSETS", Path.home() / ".cache" / "diffusion_course" / "browser-assets"))
# folder name under ASSETS -> (npm spec, a file that must exist once unpacked)
NPM_PACKAGES = {
    "html-manager": ("@jupyter-widgets/html-manager@1.0.15", "dist/embed-amd.js"),  # the version unpkg's `@*` serves
    "requirejs": ("requirejs@2.3.8", "require.js"),
    "mathjax": ("mathjax@2.7.7", "MathJax.js"),                                      # nbconvert's default is 2.7.7
}
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,1024",
                  # every host but the local server fails to resolve: no CDN, no hang on a missing network
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]


# ---------------------------------------------------------------------------------------------------------- assets
def assets_missing(root=ASSETS):
    return [spec for name, (spec, f) in NPM_PACKAGES.items() if not (Path(root) / name / f).is_file()]


def fetch_assets(root=ASSETS):
    "Unpack the npm packages the pages need into `root` (once): `npm pack` downloads just each package's tarball."
    root = Path(root)
    if not assets_missing(root): return root
    root.mkdir(parents=True, exist_ok=True)
    try: import fcntl
    except ImportError: return _fetch_missing(root)                      # no POSIX locks: one process at a time
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)      # parallel test workers: the first fetches, the others wait, then reuse
        return _fetch_missing(root)


def _fetch_missing(root):
    missing = assets_missing(root)
    if not missing: return root
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"The browser check needs local copies of {missing} in {root}, and npm is not installed "
                           "to fetch them: `apt-get install -y npm` (or install Node.js), then "
                           "`python tools/browser_utils.py`.")
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([npm, "pack", "--silent", *missing], cwd=tmp, capture_output=True, text=True)
        if r.returncode: raise RuntimeError(f"`npm pack {' '.join(missing)}` failed:\n{r.stdout}\n{r.stderr}")
        for name, (spec, _) in NPM_PACKAGES.items():
            if spec not in missing: continue
            tgz, = Path(tmp).glob(spec.rsplit("@", 1)[0].lstrip("@").replace("/", "-") + "-*.tgz")
            dst = root / name
            shutil.rmtree(dst, ignore_errors=True)
            with tarfile.open(tgz) as tf:
                tf.extractall(Path(tmp) / name, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
            (Path(tmp) / name / "package").rename(dst)
    if assets_missing(root): raise RuntimeError(f"npm pack did not provide {assets_missing(root)} in {root}")
    return root


# ---------------------------------------------------------------------------------------------------------- server
class _Handler(http.server.SimpleHTTPRequestHandler):
    "Serves `/assets/...` from the asset cache and everything else from the pages folder; logs nothing."
    def __init__(self, *a, pages, assets, **k):
        self.pages, self.assets = pages, assets
        super().__init__(*a, directory=str(pages), **k)
    def translate_path(self, path):
        p = super().translate_path(path)
        rel = Path(p).relative_to(self.pages)
        if rel.parts[:1] == ("assets",): return str(self.assets.joinpath(*rel.parts[1:]))
        return p
    def do_GET(self):
        if self.path == "/favicon.ico":  # the browser asks for one; nbconvert's pages have none
            self.send_response(204); self.end_headers(); return
        super().do_GET()
    def log_message(self, *a): pass


class PageServer:
    "A localhost HTTP server (daemon thread) for a folder of pages and the npm assets: `with PageServer(d) as s: ...`."
    def __init__(self, pages, assets=ASSETS):
        self.pages, self.assets = Path(pages).resolve(), Path(assets).resolve()
        handler = functools.partial(_Handler, pages=self.pages, assets=self.assets)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
    def url(self, name): return f"{self.base}/{name}"
    def close(self): self.httpd.shutdown(); self.httpd.server_close()
    def __enter__(self): return self
    def __exit__(self, *a): self.close()


# ---------------------------------------------------------------------------------------------------------- pages
def html_exporter(base):
    "nbconvert's `HTMLExporter` (lab template) with every CDN URL it writes pointed at the local server `base`."
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    c = Config()
    c.HTMLExporter.require_js_url = f"{base}/assets/requirejs/require.js"
    c.HTMLExporter.widget_renderer_url = f"{base}/assets/html-manager/dist/embed-amd.js"
    c.HTMLExporter.mathjax_url = f"{base}/assets/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    c.HTMLExporter.jquery_url = f"{base}/assets/html-manager/dist/no-jquery-here.js"  # the lab template loads none
    return HTMLExporter(config=c)


def notebook_to_page(nb_path, out_dir, exporter):
    "Write `nb_path` as `out_dir/<name>.html` with the local images it links (as the site build copies them)."
    body, _ = exporter.from_filename(str(nb_path))
    name = Path(nb_path).stem + ".html"
    (Path(out_dir) / name).write_text(body, encoding="utf-8")
    for src in re.findall(r'<img[^>]*\ssrc="([^":]+)"', body):               # relative paths only (no data:, http:)
        f = Path(nb_path).parent / src
        if f.is_file() and ".." not in Path(src).parts:
            (Path(out_dir) / src).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, Path(out_dir) / src)
    return name


# ---------------------------------------------------------------------------------------------------------- browser
def find_chromium():
    "(chromium, chromedriver) paths, or None for each one that is not installed."
    chromium = os.environ.get("CHROMIUM") or next(
        (p for p in map(shutil.which, ["chromium", "chromium-browser", "google-chrome"]) if p), None)
    return chromium, os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")


def start_browser(chromium, chromedriver, user_data_dir):
    "Headless Chromium driven by selenium, keeping the browser console log (`driver.get_log('browser')`)."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for f in CHROMIUM_FLAGS + [f"--user-data-dir={user_data_dir}"]: opts.add_argument(f)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service(executable_path=chromedriver))  # no selenium-manager download
    drv.set_page_load_timeout(60); drv.set_script_timeout(30)
    return drv


def js(driver, expr, *args):
    "The value of the JavaScript expression `expr` in the page (`arguments[0]`... are `args`)."
    return driver.execute_script("return " + expr, *args)


def wait_for(driver, expr, *args, timeout=15.0, poll=0.05):
    "Evaluate `expr` until it is truthy (returns it) or `timeout` seconds pass (returns the last value)."
    end = time.monotonic() + timeout
    while True:
        v = js(driver, expr, *args)
        if v or time.monotonic() > end: return v
        time.sleep(poll)


# JavaScript run in the page -----------------------------------------------------------------------------------------
# widget views still waiting to be rendered: the html-manager replaces each widget-view <script> with the view
JS_WIDGETS_PENDING = """Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))
  .filter(s => !(s.previousElementSibling && s.previousElementSibling.classList.contains('widget-subarea'))).length"""
JS_IMAGES_DONE = "Array.from(document.images).every(i => i.complete)"
JS_BROKEN_IMAGES = """Array.from(document.images).filter(i => !(i.naturalWidth > 0))
  .map(i => (i.alt ? `alt="${i.alt}" ` : '') + (i.currentSrc || i.src || '(no src)').slice(0, 80))"""
# the pictures an explorer shows right now: one fingerprint per visible <img> (its pixels, so a re-rendered copy of
# the same frame under a new blob: URL counts as the same frame)
JS_VISIBLE_FRAMES = """Array.from(arguments[0].querySelectorAll('img'))
  .filter(i => i.getClientRects().length && getComputedStyle(i).visibility !== 'hidden')
  .map(i => {
    const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;
    let s; try { c.getContext('2d').drawImage(i, 0, 0); s = c.toDataURL(); } catch (e) { s = i.src; }
    let h = 0; for (let k = 0; k < s.length; k++) h = (h * 31 + s.charCodeAt(k)) | 0;
    return `${i.naturalWidth}x${i.naturalHeight}#${(h >>> 0).toString(16)}`;
  })"""


if __name__ == "__main__":
    print(f"npm packages for the browser check are in {fetch_assets()}")


# ---------------------------------------------------------------------------------------------------------- checks
def severe_log(driver):
    "The SEVERE browser-console entries since the last call (reading the log empties it)."
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _changed(driver, root, before, timeout=3):
    "Wait until `root` shows exactly one frame, different from `before`."
    expr = f"(f => f.length === 1 && f[0] !== {json.dumps(before)})({JS_VISIBLE_FRAMES})"
    return wait_for(driver, expr, root, timeout=timeout)


def check_explorer(driver, root, name="explorer"):
    "Problems with the explorer element `root`: one frame visible; an arrow key on its slider, then Play, change it."
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    shown = js(driver, JS_VISIBLE_FRAMES, root)
    if len(shown) != 1: return [f"{name}: {len(shown)} frames visible at once, expected exactly 1"]
    slider = root.find_elements(By.CSS_SELECTOR, ".noUi-handle, input[type=range]")  # widget / plain HTML
    play = root.find_elements(By.CSS_SELECTOR, "button")
    if not (slider and play): return [f"{name}: no slider or no Play button found"]
    problems = []
    slider[0].send_keys(Keys.ARROW_RIGHT)
    if not _changed(driver, root, shown[0]):
        problems.append(f"{name}: moving the slider one step did not change the visible frame")
    shown = js(driver, JS_VISIBLE_FRAMES, root)
    play[0].click()
    if not _changed(driver, root, shown[0] if shown else ""):
        problems.append(f"{name}: pressing Play did not change the visible frame")
    play[0].click()  # pause again
    return problems


def widget_state_problems(nb_path):
    "Outputs showing widgets whose models are not in the notebook's saved widget state (they show only text on a page)."
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    state = nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    view = "application/vnd.jupyter.widget-view+json"
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    views = [o["data"][view]["model_id"] for o in outputs if view in o.get("data", {})]
    missing = [v for v in views if v not in state]
    if not missing: return []
    return [f"{len(missing)} of {len(views)} widget output(s) have no saved widget state"
            f"{' (the notebook has none)' if not state else ''}: execute the notebook with "
            "`jupyter nbconvert --to notebook --execute --inplace` (which saves the state), then `nbdev_clean`"]


def check_page(driver, url, widget_timeout=20):
    "Open `url` and list what is wrong: widgets not rendered, images not loaded, dead explorers, console errors."
    severe_log(driver)  # forget what an earlier page logged late
    driver.get(url)
    problems = []
    if not wait_for(driver, f"{JS_WIDGETS_PENDING} === 0", timeout=widget_timeout):
        problems.append(f"{js(driver, JS_WIDGETS_PENDING)} widget view(s) did not render within {widget_timeout} s")
    if "Error displaying widget" in js(driver, "document.body.innerText"):
        problems.append("'Error displaying widget' on the page: the saved widget state lacks models that outputs use; "
                        "re-execute the whole notebook in one kernel")
    wait_for(driver, JS_IMAGES_DONE, timeout=10)
    broken = js(driver, JS_BROKEN_IMAGES)
    if broken: problems.append(f"{len(broken)} image(s) did not load: {broken[:5]}")
    for i, root in enumerate(driver.find_elements("css selector", ".dc-explorer")):
        problems += check_explorer(driver, root, f"explorer {i + 1}")
    time.sleep(0.2)  # let late errors reach the log
    errors = severe_log(driver)
    if errors: problems.append(f"{len(errors)} SEVERE browser-console entries:\n    " + "\n    ".join(errors[:10]))
    return problems
