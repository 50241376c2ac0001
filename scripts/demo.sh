#!/usr/bin/env bash
# Sets up tokenheat (scripts/setup.sh demo) and runs the demo: the four analyses on
# SmolLM2-135M-Instruct over the bundled corpus, written to one interactive HTML file.
# Arguments go to `tokenheat demo` (e.g. --quick, --out page.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec "${TOKENHEAT_VENV:-$(pwd)/.venv}/bin/tokenheat" demo "$@"
