"""Bad and edge inputs as data: each `Case` says what a user did and what must happen.

`tests/test_bad_inputs.py` runs every case; `nbs/92_reliability.ipynb` runs them again and shows them as the
docs' table (case -> behaviour -> test), so the table cannot drift from what the package does. Case lists live in
`tests/cases_*.py` (one `CASES` list each); add a case there and it is both tested and documented.
"""
import contextlib
import functools
import importlib
import io
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

CASE_MODULES = ("cases_api", "cases_models", "cases_cli", "cases_training")


@dataclass
class Case:
    area: str                       # the table's section, e.g. "images", "guidance and steps", "CLI"
    case: str                       # what the user did, in words
    run: Callable                   # does it, with no arguments
    error: type | None = None       # the exception it must raise; None: it must work
    match: str = ""                 # a regex the error message (CLI: stderr) must contain (case-insensitive)
    check: Callable | None = None   # working cases: check(result) -> True when the result is right
    cli: bool = False               # `run` returns (exit code, stdout, stderr) of the CLI; must fail in one line
    module: str = ""                # the `cases_*` module that holds it (set by `all_cases`)

    @property
    def id(self): return re.sub(r"[^a-z0-9]+", "-", f"{self.area} {self.case}".lower()).strip("-")[:90]


def run_cli(*argv) -> tuple:
    "Run `diffusion-course ARGV` in this process: (exit code, stdout, stderr)."
    from diffusion_course.cli import main
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main([str(a) for a in argv])
        except SystemExit as e: code = e.code if isinstance(e.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def outcome(case: Case) -> tuple:
    "Run `case`: (passed, what happened in one line)."
    import torch
    torch.manual_seed(0)                    # the same random inputs whatever ran before: the table reads the same
    try:
        result = case.run()
    except Exception as e:
        msg = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        if case.error is None: return False, f"raised {msg}\n{traceback.format_exc()}"
        ok = isinstance(e, case.error) and re.search(case.match, str(e), re.I | re.S) is not None
        return ok, msg
    if case.cli:
        code, _, err = result
        line = err.strip()
        ok = (code != 0 and "Traceback" not in err and len(line.splitlines()) == 1
              and re.search(case.match, line, re.I) is not None)
        return ok, f"exit {code}: {line}"
    if case.error is not None: return False, f"no error (expected {case.error.__name__})"
    if case.check is not None and not case.check(result):
        return False, f"worked, but the result is wrong: {_short(result)}"
    return True, f"works: {_short(result)}"


def _short(result) -> str:
    import torch
    if isinstance(result, torch.Tensor):
        if not result.numel(): return "empty tensor"
        return f"tensor {tuple(result.shape)} in [{result.min():.3g}, {result.max():.3g}]"
    return repr(result)[:100]


def all_cases() -> list:
    "Every case of every `cases_*` module, in table order (each knows its `module`)."
    cases = []
    for m in CASE_MODULES:
        for c in importlib.import_module(m).CASES: c.module = m; cases.append(c)
    return cases


@functools.lru_cache(maxsize=None)
def model(name="mnist-class-ddpm"):
    "A bundled denoiser, loaded once for all cases."
    from diffusion_course.denoisers import load_pretrained
    return load_pretrained(name)


@functools.lru_cache(maxsize=None)
def scratch() -> Path:
    "A temporary folder shared by the cases of one run."
    import tempfile
    return Path(tempfile.mkdtemp(prefix="dc-bad-inputs-"))
