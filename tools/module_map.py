"""The package's module map: which module imports which, drawn as layers (each module above everything it imports).

    python tools/module_map.py          # print the map (README.md's "Module map" shows the same text)

Layer 0 imports no other module of the package; a module in layer k imports at least one module of layer k-1 and
none of layer k or above, so reading the map downwards follows the dependencies. Imports inside functions (made on
demand, e.g. to keep a heavy or optional dependency out of the module's import) are listed in brackets.
"""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "diffusion_course"
WHOLE = "diffusion_course"   # `import diffusion_course as dc`: every module


def imports(path: Path):
    "(modules of the package `path` imports at the top level, modules it imports inside functions, on demand)."
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(n) for n in tree.body}
    top, lazy = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "diffusion_course" for a in node.names):
            (top if id(node) in top_level else lazy).add(WHOLE)
        if not isinstance(node, ast.ImportFrom): continue
        mod, found = node.module or "", set()
        if node.level == 1 and mod: found.add(mod.split(".")[0])
        elif node.level == 1: found.update(a.name for a in node.names)
        elif mod.startswith("diffusion_course."): found.add(mod.split(".")[1])
        (top if id(node) in top_level else lazy).update(found)
    return top, lazy - top


def module_graph() -> dict:
    "{module: (sorted top-level imports, sorted on-demand imports)} for every public module of the package."
    mods = {p.stem: p for p in sorted(PKG.glob("*.py")) if not p.stem.startswith("_")}
    graph = {}
    for m, p in mods.items():
        top, lazy = imports(p)
        known = set(mods) | {WHOLE}
        graph[m] = (sorted(top & known - {m}), sorted(lazy & known - {m}))
    return graph


def layers(graph: dict) -> list:
    "Modules grouped by their longest chain of top-level imports (0: imports nothing of ours); a cycle is an error."
    depth = {}
    def d(m, seen=()):
        if m in seen: raise ValueError(f"import cycle: {' -> '.join((*seen, m))}")
        if m not in depth:
            uses = [n for n in graph if n != m and n not in seen] if WHOLE in graph[m][0] else graph[m][0]
            depth[m] = 1 + max((d(n, (*seen, m)) for n in uses), default=-1)
        return depth[m]
    for m in graph: d(m)
    return [sorted(m for m in graph if depth[m] == k) for k in range(max(depth.values()) + 1)]


def draw(graph=None) -> str:
    "The map as text: top layer first, each module with what it imports (and, in brackets, what it imports on demand)."
    graph = graph or module_graph()
    out = []
    for k, mods in reversed(list(enumerate(layers(graph)))):
        out.append(f"layer {k}")
        for m in mods:
            top, lazy = graph[m]
            uses = "every module (`import diffusion_course as dc`)" if WHOLE in top else ", ".join(top) or "(nothing)"
            out.append(f"  {m:<12} <- {uses}" + (f"  [on demand: {', '.join(lazy)}]" if lazy else ""))
    return "\n".join(out)


if __name__ == "__main__":
    print(draw())
