"Every bad or edge input of `tests/cases_*.py` gets its clear error (or works), as `tests/bad_inputs.py` defines."
import pytest

from bad_inputs import all_cases, outcome

CASES = all_cases()


def test_enough_cases():
    assert len(CASES) >= 60, f"only {len(CASES)} cases"
    assert len({c.id for c in CASES}) == len(CASES), "two cases share an id: describe them differently"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case):
    ok, what = outcome(case)
    assert ok, f"{case.case}: {what}"
