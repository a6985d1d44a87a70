"""tools/messages.py: a message split inside a clause is found, and `fix_source` rewraps it without changing it."""
import ast

import messages   # tools/ is on the path (tests/conftest.py)

BAD = '''def f(name):
    if name:
        raise ValueError(f"{name!r} is a flow-matching model, not a diffusion model: use `sample(...)` instead, or "
                         "a DDPM model such as 'mnist-class-ddpm' {with braces}.")
'''


def message(src):
    "The message the raise statement in `src` builds, evaluated with name='x'."
    call = next(n for n in ast.walk(ast.parse(src))
                if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "ValueError")
    return eval(compile(ast.Expression(call.args[0]), "<msg>", "eval"), {"name": "x"})


def test_finds_a_split_inside_a_clause():
    assert messages.problems_in(BAD) == [(3, BAD.split("\n")[2].split("(", 1)[1])]


def test_fix_keeps_the_message_and_the_width():
    fixed, n = messages.fix_source(BAD)
    assert n == 1 and messages.problems_in(fixed) == []
    assert message(fixed) == message(BAD)
    assert max(len(line) for line in fixed.split("\n")) <= messages.WIDTH
    assert "or a DDPM model such as 'mnist-class-ddpm' {with braces}." in fixed   # a plain literal keeps its braces


def test_clause_breaks_and_long_clauses_pass():
    ok = 'raise ValueError(f"{n}: first clause, "\n                 "second clause.")\n'
    assert messages.problems_in(ok) == []
    long_clause = "word " * 40
    src = f'raise ValueError("{long_clause[:100]}"\n                 "{long_clause[100:]}")\n'
    assert messages.problems_in(src) == []          # too long for one line: the break between words is allowed


def test_other_strings_are_not_messages():
    assert messages.problems_in('x = ("a plain " "split")\n') == []
    assert messages.problems_in('raise ValueError("{} is " "{}".format(a, b))\n') == []
