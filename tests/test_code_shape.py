"The code stays readable by construction: short functions, small modules (the architecture issue's goals)."
import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "diffusion_course"
MAX_FUNCTION_LINES, MAX_MODULE_LINES = 30, 450
GENERATED = {"_modidx.py"}            # nbdev's index of symbols, written by nbdev_export


def modules():
    return [p for p in sorted(PACKAGE.glob("*.py")) if p.name not in GENERATED]


def long_functions(path: Path) -> list:
    "`module.function (n lines)` for each function of `path` longer than the limit, decorators not counted."
    tree = ast.parse(path.read_text())
    return [f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_no_function_over_the_limit():
    found = [f for p in modules() for f in long_functions(p)]
    assert not found, (f"Functions over {MAX_FUNCTION_LINES} lines: {found}. Split each in its notebook "
                       "(a helper per step), then nbdev_export.")


def test_no_module_over_the_limit():
    found = {p.name: n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not found, (f"Modules over {MAX_MODULE_LINES} lines: {found}. Split the notebook's topic into two "
                       "modules (`#| default_exp`), then nbdev_export.")


def test_the_check_finds_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    return 1\n\ndef long():\n{body}\n")
    assert [f.split(" ")[1] for f in long_functions(tmp_path / "m.py")] == ["long"]
