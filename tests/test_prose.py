"""The prose checks of tools/lint.py: no reference a reader cannot follow, no typed timings. Each check must fail."""
import json
from pathlib import Path

import lint   # tools/ is on the path (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent
PART_A = sorted(p for p in (ROOT / "nbs").glob("1[0-9]_*.ipynb"))


def md(text): return {"cell_type": "markdown", "metadata": {}, "source": text}


def code(src, printed=""):
    "A code cell whose saved output is the stream text `printed`."
    outputs = [{"output_type": "stream", "name": "stdout", "text": printed}] if printed else []
    return {"cell_type": "code", "metadata": {}, "source": src, "outputs": outputs, "execution_count": 1}


def nb(*cells): return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_outside_references_fail_with_notebook_cell_and_phrase():
    found = lint.notebook_problems(nb(md("# Title"), code("x = 1"), md("As the course's pitfall 7 says, see it.")),
                                   "nbs/99_x.ipynb")
    assert len(found) == 1 and found[0].startswith("nbs/99_x.ipynb cell 2: 'pitfall 7'"), found
    for text in ["the spec (shared/COURSE.md)", "see DESIGN.md §3", "ECOSYSTEM.md lists it", "Pitfall #5",
                 "the course's \"bug I couldn't fix\""]:
        assert lint.outside_references(text), f"not caught: {text!r}"


def test_plain_prose_passes():
    text = ("The model has $T=300$ steps; at $t=75$ one step is enough. It turns 3s into 8s with 5 seeds, "
            "$\\sigma=0.75$, 34 strided steps, in a second pass. A pitfall of strided lists: the last step. "
            "The data module also looks for a `shared/data` folder.")
    assert lint.outside_references(text) == [] and lint.unbacked_durations(text, "") == []


def test_typed_timings_fail():
    for text in ["the grid takes 36 s here", "about 1.5 minutes", "250ms per call", "2-3 min on a laptop",
                 "a few seconds on a laptop CPU", "takes three minutes"]:
        assert lint.unbacked_durations(text, ""), f"not caught: {text!r}"


def test_printed_timings_pass_only_in_their_own_notebook():
    timed = nb(code("print(f'{secs:.0f} s')", printed="sampling took 36 s\n"), md("The grid took 36 s (above)."))
    assert lint.notebook_problems(timed, "a.ipynb") == []
    other_number = nb(code("print(secs)", printed="sampling took 35 s\n"), md("The grid took 36 s."))
    assert len(lint.notebook_problems(other_number, "a.ipynb")) == 1
    no_unit = nb(code("print(36)", printed="36\n"), md("The grid took 36 s."))
    assert len(lint.notebook_problems(no_unit, "a.ipynb")) == 1, "a printed 36 without a unit is not a timing"
    vague = nb(code("print(secs)", printed="took 3 s\n"), md("It takes a few seconds."))
    assert len(lint.notebook_problems(vague, "a.ipynb")) == 1, "a vague duration has no number to check"


def test_prose_problems_scans_notebooks_and_readme(tmp_path):
    (tmp_path / "nbs").mkdir()
    (tmp_path / "nbs" / "10_a.ipynb").write_text(json.dumps(nb(code("t", printed="took 12 s"), md("12 s, see above"))))
    (tmp_path / "nbs" / "11_b.ipynb").write_text(json.dumps(nb(md("Read shared/DESIGN.md first."))))
    (tmp_path / "README.md").write_text("The tour takes 12 s (see the notebook) and 40 s on a laptop.\n")
    found = lint.prose_problems(tmp_path)
    assert len(found) == 3, found           # 'shared/' and 'DESIGN.md' in 11_b, '40 s' in the README
    assert sum(f.startswith("nbs/11_b.ipynb cell 0:") for f in found) == 2
    assert found[-1].startswith("README.md: '40 s'")


def test_part_a_lessons_pass():
    "The Part A lessons (nbs/10-19) point at nothing outside the repository and quote only printed timings."
    assert len(PART_A) == 10
    found = [p for path in PART_A for p in lint.notebook_problems(json.loads(path.read_text(encoding="utf-8")),
                                                                  f"nbs/{path.name}")]
    assert found == [], "\n".join(found)
