"""Every notebook as a web page in headless Chromium: no console errors, every image loads, explorers respond.

Each notebook in nbs/ (names starting with `_` or `.` skipped, as nbdev does) is converted with nbconvert's
`HTMLExporter`, which embeds the widget state saved in the notebook, and opened from a localhost server that also
serves local copies of require.js, MathJax and the widget html-manager (tools/browser_utils.py). On each page:

- every widget output has its models in the notebook's saved widget state, and its view renders;
- the browser console has no SEVERE entry (a JavaScript error, a resource that failed to load);
- every `<img>` has loaded (`naturalWidth > 0`);
- in every explorer (`.dc-explorer`: a `FrameExplorer` widget or its `to_html()` version) exactly one frame is
  visible, and an arrow key on its slider, then its Play button, each show a different frame.

`test_check_catches` runs the same checks on small broken pages, to show that each check can fail.
Needs `chromium` + `chromium-driver` (Debian) and selenium; the npm packages are fetched on first use (`npm pack`).
Skipped only where the Chromium binaries are missing.
"""
import json
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import browser_utils as bu

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT / "nbs").rglob("*.ipynb")
             if not any(part[0] in "_." for part in p.relative_to(ROOT / "nbs").parts))
nb_id = lambda p: p.relative_to(ROOT / "nbs").as_posix()


@pytest.fixture(scope="module")
def site():
    "(driver, server, exporter, pages folder): one Chromium and one localhost server for all pages."
    chromium, chromedriver = bu.find_chromium()
    if not (chromium and chromedriver):
        pytest.skip(f"Chromium cannot run here (chromium: {chromium or 'missing'}, "
                    f"chromedriver: {chromedriver or 'missing'}): "
                    "`apt-get install -y chromium chromium-driver` to run the browser check")
    bu.fetch_assets()
    with tempfile.TemporaryDirectory() as pages, tempfile.TemporaryDirectory() as profile, bu.PageServer(pages) as srv:
        drv = bu.start_browser(chromium, chromedriver, profile)
        try: yield drv, srv, bu.html_exporter(srv.base), Path(pages)
        finally: drv.quit()


def page_problems(site, nb_path):
    drv, srv, exporter, pages = site
    page = srv.url(bu.notebook_to_page(nb_path, pages, exporter))
    return bu.widget_state_problems(nb_path) + bu.check_page(drv, page)


@pytest.mark.parametrize("nb", NBS, ids=nb_id)
def test_page(nb, site):
    problems = page_problems(site, nb)
    assert not problems, f"{nb.name} as a web page:\n  - " + "\n  - ".join(problems)


@pytest.mark.parametrize("nb", NBS, ids=nb_id)
def test_no_progress_bars_in_widget_state(nb):
    "tqdm.auto bars become widget state that the page would show as frozen bars: keep them out of saved outputs."
    state = json.loads(nb.read_text(encoding="utf-8"))["metadata"].get("widgets", {})
    models = state.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    bars = [k for k, m in models.items() if m.get("model_name") in ("FloatProgressModel", "IntProgressModel")]
    assert not bars, (f"{nb.name} saves {len(bars)} progress bar(s) in its widget state (tqdm.auto?): disable them "
                      "(`tqdm(..., disable=True)`, `pipe.set_progress_bar_config(disable=True)`) and re-execute it")


# ---------------------------------------------------------------------------------------------------------------------
# The checks themselves can fail: small notebooks with one defect each (and one without any).
def _explorer(**kw):
    import torch
    from diffusion_course.widgets import FrameExplorer
    x = torch.linspace(-1, 1, 6).reshape(6, 1, 1, 1).expand(6, 1, 8, 8)  # 6 grey squares, each a different shade
    return FrameExplorer(x, [f"frame {i}" for i in range(6)], title="test", **kw)


def _widget_nb(widget, save_state=True):
    "A notebook with one output showing `widget`, and (unless `save_state` is False) the widget state Jupyter saves."
    from ipywidgets.embed import dependency_state
    out = new_output("display_data", {"text/plain": repr(widget), "application/vnd.jupyter.widget-view+json":
                                      {"model_id": widget.model_id, "version_major": 2, "version_minor": 0}})
    nb = new_notebook(cells=[new_code_cell("widget", outputs=[out])])
    if save_state:
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json":
                                  {"version_major": 2, "version_minor": 0, "state": dependency_state(widget)}}
    return nb


def _html_nb(html):
    out = new_output("display_data", {"text/html": html, "text/plain": "page"})
    return new_notebook(cells=[new_code_cell("page", outputs=[out])])


def _unlinked():
    ex = _explorer()
    ex.links[1].unlink()  # the slider no longer drives the image stack
    return _widget_nb(ex)


def _html_without_js():
    h = _explorer().to_html().data
    return _html_nb(h[:h.index("<script>")])


CASES = {  # name: (notebook maker, a phrase the report must contain; None: no problem at all)
    "working explorers": (lambda: _widget_nb(_explorer()), None),
    "working html explorer": (lambda: _html_nb(_explorer().to_html().data), None),
    "slider not linked to the frames": (_unlinked, "moving the slider one step did not change"),
    "html explorer without its script": (_html_without_js, "moving the slider one step did not change"),
    "two frames visible": (lambda: _html_nb(_explorer().to_html().data.replace('class="dcx-frame" hidden',
                                                                                'class="dcx-frame"', 1)),
                           "2 frames visible"),
    "no saved widget state": (lambda: _widget_nb(_explorer(), save_state=False), "no saved widget state"),
    "broken image": (lambda: new_notebook(cells=[new_markdown_cell(
                         '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==">')]),
                     "1 image(s) did not load"),
    "javascript error": (lambda: _html_nb("<script>no_such_function()</script>"), "SEVERE"),
    "missing file": (lambda: _html_nb('<script src="no_such_file.js"></script>'), "SEVERE"),
    "internet resource": (lambda: _html_nb('<link rel="stylesheet" href="https://cdn.example.com/x.css">'), "SEVERE"),
}


@pytest.mark.parametrize("case", CASES)
def test_check_catches(case, site, tmp_path):
    make, expected = CASES[case]
    path = tmp_path / f"case_{case.replace(' ', '_')}.ipynb"
    nbformat.write(make(), path)
    problems = page_problems(site, path)
    if expected is None: assert not problems, problems
    else: assert any(expected in p for p in problems), f"expected a problem containing {expected!r}, got {problems}"
