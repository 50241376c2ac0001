#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh test), then runs every check and test:
# lint and types (ruff, mypy, tsc, biome), JS unit tests, the API reference (mkdocs, strict),
# and pytest over Python unit tests, model analyses, the SmolLM2 integration, browser tests,
# JupyterLab end to end, the notebooks and the packaging. Extra arguments go to pytest
# (e.g. scripts/test.sh -k lens).
set -euo pipefail
cd "$(dirname "$0")/.."
lock_before=$(sha256sum package-lock.json)
bash scripts/setup.sh test
if [ "$(sha256sum package-lock.json)" != "$lock_before" ]; then
  echo "package-lock.json was changed by the setup; a fresh setup must leave it as committed" >&2
  git --no-pager diff --stat -- package-lock.json 2>/dev/null || true
  exit 1
fi
VENV=${TOKENHEAT_VENV:-$(pwd)/.venv}
export PATH="$VENV/bin:$PATH"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "ruff (lint + format check)"
py_dirs=(src tests)
[ -d bench ] && py_dirs+=(bench)
ruff check "${py_dirs[@]}"
ruff format --check "${py_dirs[@]}"
step "mypy (strict on tokenheat.core, export, store; settings in pyproject.toml)"
mypy
step "TypeScript: tsc --noEmit, biome"
npm run --silent typecheck
npm run --silent lint
step "JS unit tests (vitest)"
npm test --silent
step "API reference (mkdocs build --strict -> site/)"
mkdocs build --strict --quiet --site-dir site
step "pytest"
export TOKENHEAT_CACHE=${TOKENHEAT_CACHE:-$HOME/.cache/tokenheat}
if [ $# -gt 0 ]; then
  python -m pytest -q -ra "$@"
else
  # The Ray tests run in a pytest process of their own: once a process has imported nnsight
  # (the interop tests do), Ray's serializer can no longer pickle work for its actors.
  python -m pytest -q -ra --ignore=tests/models/test_engine_ray.py
  step "pytest: engine='ray' on a local cluster"
  python -m pytest -q -ra tests/models/test_engine_ray.py
fi
