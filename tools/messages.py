"""Keep every error message greppable: a message wrapped over several string literals breaks only between clauses.

    python tools/messages.py          # list each message split inside a clause (exit 1 if any)
    python tools/messages.py --fix    # rewrap those messages in the notebooks (then `nbdev_export`)

A user who sees "… 'x' is a flow-matching model: use `sample(...)` …" should find it with grep. When line wrapping
splits the literal inside a clause ("… is " / "a flow-matching model …"), grep finds nothing. The rule: in an error
or warning (a statement that raises, warns, calls a `check_…` or names a `hint`, an `…Error`, `…Warning`
or `…_HELP`), consecutive string
literals meet only after a clause ends (". ", ": ", "; ", ", ", "? ", "! ", ") ", a "\\n", or before " (").
A clause too long for one line at its indentation is the one exception: it is broken between words.
The notebooks are the source, so the fix edits their code cells; `nbdev_export` then carries it to the modules.
"""
import io
import json
import re
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 120
ENDS = (". ", ": ", "; ", ", ", "? ", "! ", ") ", "\\n")
MESSAGE_NAME = re.compile(r"(?:Error|Warning|warn|_HELP|_HINT)$|^hint$|^check_")


def literal_parts(tok:str):
    "(prefix, quote, content) of a one-line string literal's source, or None for raw, bytes or triple-quoted ones."
    m = re.match(r"^([a-zA-Z]*)(\'\'\'|\"\"\"|'|\")(.*)\2$", tok, re.S)
    if not m or len(m[2]) == 3 or set(m[1].lower()) - {"f"}: return None
    return m[1], m[2], m[3]


def as_fcontent(prefix:str, content:str) -> str:
    "A literal's content as f-string source: braces of a plain literal are escaped."
    return content if "f" in prefix.lower() else content.replace("{", "{{").replace("}", "}}")


def units(s:str, words:bool=False) -> list:
    "f-string source `s` cut after each clause end (or each space, with `words`), never inside a {…} field."
    out, start, depth, i = [], 0, 0, 0
    while i < len(s):
        c = s[i]
        if depth == 0 and s[i:i + 2] in ("{{", "}}"): i += 2; continue
        if c == "{": depth += 1
        elif c == "}": depth -= 1
        elif depth == 0:
            cut = None
            if words and c == " ": cut = i + 1
            elif not words:
                if s[i:i + 2] in ENDS: cut = i + 2
                elif s[i:i + 2] == " (": cut = i + 1
            if cut: out.append(s[start:cut]); start = cut; i = cut; continue
        i += 1
    if start < len(s): out.append(s[start:])
    return out


def literal(fcontent:str, quote:str) -> str:
    "Source of one literal holding f-string content `fcontent`: an f-string only where it has a field."
    has_field = re.search(r"(?<!\{)\{(?!\{)", fcontent.replace("{{", "")) is not None
    return f"f{quote}{fcontent}{quote}" if has_field else quote + fcontent.replace("{{", "{").replace("}}", "}") + quote


def layout(fcontent:str, quote:str, col:int, tail:int) -> list:
    "Literal sources, one per line, that fill lines of WIDTH from column `col`; the last leaves room for `tail`."
    room = lambda text, last: col + len(literal(text, quote)) + (tail if last else 0) <= WIDTH
    pieces, line = [], ""
    clauses = units(fcontent)
    for k, clause in enumerate(clauses):
        last = k == len(clauses) - 1
        if room(line + clause, last): line += clause; continue
        if line: pieces.append(line); line = ""
        if room(clause, last): line = clause; continue
        for w in units(clause, words=True):                              # a clause longer than a line
            if line and not room(line + w, last): pieces.append(line); line = ""
            line += w
    if line: pieces.append(line)
    return [literal(p, quote) for p in pieces]


def groups(src:str):
    "Runs of two or more adjacent string literals (implicit concatenation) inside error or warning statements."
    try: toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError): return
    stmt, run = [], []
    for tok in toks + [None]:
        if tok is not None and tok.type == tokenize.STRING: run.append(tok); continue
        if tok is not None and tok.type in (tokenize.NL, tokenize.COMMENT) and run:
            if tok.type == tokenize.COMMENT: run.append(tok)
            continue
        if len([t for t in run if t.type == tokenize.STRING]) >= 2 and is_message(stmt, tok): yield run, tok
        run = []
        if tok is None or tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT): stmt = []
        else: stmt.append(tok)


def is_message(stmt:list, after) -> bool:
    "Whether the statement so far raises, warns or names an error, a warning or a help text (not a `.format` one)."
    names = [t.string for t in stmt if t.type == tokenize.NAME]
    if after is not None and after.string == ".": return False                 # "...".format(...) / .join
    return "raise" in names or any(MESSAGE_NAME.search(n) for n in names)


def needless_breaks(contents:list, quote:str, col:int) -> list:
    "Offsets of the breaks between `contents` that fall inside a clause short enough for one line at column `col`."
    text, pos, out = "".join(contents), 0, []
    spans, s = [], 0
    for u in units(text): spans.append((s, s + len(u))); s += len(u)
    for a, b in zip(contents, contents[1:]):
        pos += len(a)
        if a.endswith(ENDS) or (a.endswith(" ") and b.startswith("(")): continue
        s, e = next((s, e) for s, e in spans if s < pos < e)
        if col + len(literal(text[s:e], quote)) <= WIDTH: out.append(pos)
    return out


def problems_in(src:str) -> list:
    "(line, first literal) of each message in cell source `src` split inside a clause that fits one line."
    out = []
    for run, _ in groups(src):
        if any(t.type == tokenize.COMMENT for t in run): continue
        parts = [literal_parts(t.string) for t in run]
        if None in parts: continue
        contents = [as_fcontent(p, c) for p, _, c in parts]
        if needless_breaks(contents, parts[0][1], run[0].start[1]): out.append((run[0].start[0], run[0].string))
    return out


def fix_source(src:str) -> tuple:
    "`src` with every message split inside a clause rewrapped; and how many were."
    lines, edits = src.split("\n"), []
    for run, after in groups(src):
        if any(t.type == tokenize.COMMENT for t in run): continue
        parts = [literal_parts(t.string) for t in run]
        if None in parts or len({q for _, q, _ in parts}) > 1: continue
        contents = [as_fcontent(p, c) for p, _, c in parts]
        if not needless_breaks(contents, parts[0][1], run[0].start[1]): continue
        (r0, c0), (r1, c1) = run[0].start, run[-1].end
        tail = len(lines[r1 - 1]) - c1
        new = layout("".join(contents), parts[0][1], c0, tail)
        edits.append((r0, c0, r1, c1, ("\n" + " " * c0).join(new)))
    for r0, c0, r1, c1, text in reversed(edits):
        head, rest = lines[r0 - 1][:c0], lines[r1 - 1][c1:]
        lines[r0 - 1:r1] = (head + text + rest).split("\n")
    return "\n".join(lines), len(edits)


def notebooks() -> list: return sorted((ROOT / "nbs").glob("*.ipynb"))


def cell_sources(nb:dict):
    for cell in nb["cells"]:
        if cell["cell_type"] == "code": yield cell, "".join(cell["source"])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    fix, found = "--fix" in argv, 0
    for path in notebooks():
        nb, changed = json.loads(path.read_text()), 0
        for cell, src in cell_sources(nb):
            if fix:
                new, n = fix_source(src)
                if n: cell["source"] = [line + "\n" for line in new.split("\n")[:-1]] + [new.split("\n")[-1]]
                changed += n
            for line, first in problems_in(src if not fix else "".join(cell["source"])):
                found += 1
                print(f"{path.relative_to(ROOT)} cell {cell.get('id')} line {line}: split inside a clause: {first}")
        if changed:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            print(f"{path.relative_to(ROOT)}: {changed} message(s) rewrapped")
    if found and not fix: print(f"{found} message(s) split inside a clause: run `python tools/messages.py --fix`")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
