#!/usr/bin/env bash
# The project's test command: everything CI checks, in CI's order.
#
#   pip install -e ".[dev]" && bash tests/run.sh        # from the repository root, in a venv
#
# Steps: (a) notebooks clean, (b) library in sync with the notebooks, (c) nbs/_quarto.yml symlink, (d) ruff on the
# modules, tests and tools, (e) nbdev_test (cells flagged `slow gpu hub` are skipped), (f) pytest on 2 workers, (g) nbdev's
# Python-only docs preprocessing. No Quarto needed: step (g) runs everything of `nbdev_docs` that is not Quarto. Steps (a) and (b) FIX the working tree in place (like CI's nbdev-ci):
# they compare the state of the tree before and after, so uncommitted work of your own is fine; if a step changed
# something, commit what it changed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
T0=$SECONDS

# nbdev_test sets IN_TEST in its workers; set globally it turns nbdev_export into a silent no-op.
unset IN_TEST
# 2 cores: one thread per nbdev_test worker; no GUI backend; never reach for the Hugging Face Hub.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg HF_HUB_OFFLINE=1

STEP_T0=$SECONDS
step() { # step LETTER TITLE
    printf '\n==================== [%s] %s ====================\n' "$1" "$2"
    STEP_T0=$SECONDS
}
done_step() { printf -- '---- ok (%ss)\n' "$((SECONDS - STEP_T0))"; }
fail() { # fail MESSAGE: one loud line that says which command fixes it
    printf '\n!!!!!!!!!! TESTS FAILED: %s\n' "$*" >&2
    printf '(tests/run.sh stopped after %ss)\n' "$((SECONDS - T0))" >&2
    exit 1
}

# The state of the working tree as git sees it: one line per modified or untracked (not ignored) file, with a hash of
# its contents. Comparing two of them tells whether a command changed anything, and what, even in files that already
# had uncommitted changes (on CI the clone is clean, so any change fails).
tree_state() {
    git status --porcelain=v1 -z --untracked-files=all | while IFS= read -r -d '' entry; do
        path=${entry:3}
        case ${entry:0:1} in R|C) IFS= read -r -d '' _ ;; esac  # renames carry the old path as a second field
        if [ -f "$path" ]; then hash=$(sha1sum < "$path"); else hash=absent; fi
        printf '%s %s %s\n' "${entry:0:2}" "${hash%% *}" "$path"
    done
}
check_unchanged() { # check_unchanged STATE_BEFORE MESSAGE
    local after; after=$(tree_state)
    if [ "$after" != "$1" ]; then
        echo "Files changed by this step:"
        { diff <(printf '%s\n' "$1") <(printf '%s\n' "$after") || true; } | sed -nE 's/^[<>] .. [^ ]+ /  /p' | sort -u
        fail "$2"
    fi
}

command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1 \
    || fail "tests/run.sh needs a git checkout and the git command: run it from a clone of the repository"
command -v nbdev_test >/dev/null \
    || fail "nbdev is not installed here: run \`pip install -e \".[dev]\"\` (in a venv) first"

echo "diffusion_course tests: $(python --version 2>&1), $(python -c 'import nbdev, execnb, fastcore; print(f"nbdev {nbdev.__version__}, execnb {execnb.__version__}, fastcore {fastcore.__version__}")')"

# ---------------------------------------------------------------------------------------------------------------------
step a "notebooks are clean (nbdev_clean leaves no diff)"
before=$(tree_state)
nbdev_clean || fail "nbdev_clean crashed (see above): fix the notebook it names, then run \`nbdev_clean\`"
check_unchanged "$before" "Notebooks are not clean: nbdev_clean just changed them (listed above); run \`nbdev_clean\` and commit (\`nbdev_install_hooks\` once makes Jupyter clean on every save)"
done_step

# ---------------------------------------------------------------------------------------------------------------------
step b "the library is in sync with the notebooks (nbdev_export leaves no diff)"
before=$(tree_state)
nbdev_export || fail "nbdev_export crashed (see above): fix the notebook it names, then run \`nbdev_export\`"
check_unchanged "$before" "Notebooks and library are not in sync: nbdev_export just changed the files listed above; run \`nbdev_export\` and commit diffusion_course/ (never edit diffusion_course/*.py by hand)"
done_step

# ---------------------------------------------------------------------------------------------------------------------
step c "nbs/_quarto.yml is the symlink ../_quarto.yml"
test "$(readlink nbs/_quarto.yml)" = ../_quarto.yml \
    || fail "nbs/_quarto.yml must be a relative symlink to the top-level _quarto.yml: run \`ln -sfn ../_quarto.yml nbs/_quarto.yml\` and commit"
done_step

# ---------------------------------------------------------------------------------------------------------------------
step d "ruff: no unused imports, no line over 120 characters (pyproject.toml [tool.ruff])"
python tools/lint.py \
    || fail "ruff found problems (listed above): fix them in the notebooks (never the exported modules), then \`nbdev_export\`; re-check with \`python tools/lint.py\`"
done_step

# ---------------------------------------------------------------------------------------------------------------------
step e "nbdev_test (skips cells flagged: $(python -c 'from nbdev.config import get_config; print(get_config().tst_flags)'))"
nbdev_test --n_workers 2 --timing \
    || fail "Notebook tests failed (traceback above): fix the notebook, re-run it alone with \`nbdev_test --path nbs/NOTEBOOK.ipynb\`"
done_step

# ---------------------------------------------------------------------------------------------------------------------
step f "pytest"
python -m pytest -q -n 2 --durations=15 tests \
    || fail "pytest failed (see above): run \`python -m pytest -q tests\` (add \`-x -k NAME\` to focus)"
done_step

# ---------------------------------------------------------------------------------------------------------------------
step g "docs preprocessing, Python only (refresh_quarto_yml, _build_modidx, proc_nbs into _proc/)"
python tools/docs_preprocess.py \
    || fail "Docs preprocessing failed (see above): fix it, then run \`python tools/docs_preprocess.py\` and commit any generated file it updated"
done_step

printf '\n==================== all tests passed in %dm%02ds ====================\n' "$(((SECONDS - T0) / 60))" "$(((SECONDS - T0) % 60))"
