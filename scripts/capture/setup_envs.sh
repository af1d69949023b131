#!/usr/bin/env bash
# Build the client environments the capture scenarios run in (see scenarios.py).
# Each instrumentation generation needs its own venv: their OpenTelemetry and openai
# pins conflict with each other and with the project's. Run from the repo root:
#   bash scripts/capture/setup_envs.sh [venv ...]   # default: all
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=scripts/capture

build() {  # build <venv> <pip args...>
  local venv=$1; shift
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q "$@"
}

want() { [ $# -eq 0 ] || [[ " $* " == *" $WANT "* ]]; }
for WANT in .venv .venv-capture .venv-oai21 .venv-openlit .venv-openlit136 node; do
  want "$@" || continue
  case $WANT in
    .venv) build .venv -e '.[dev]' ;;
    .venv-capture) build .venv-capture -e '.[dev]' -r $HERE/requirements-capture.txt ;;
    .venv-oai21) build .venv-oai21 -r $HERE/requirements-openai-v2-2.1b0.txt ;;
    .venv-openlit) build .venv-openlit -r $HERE/requirements-openlit-1.45.txt ;;
    .venv-openlit136) build .venv-openlit136 -r $HERE/requirements-openlit-1.36.txt ;;
    node) (cd $HERE && npm install --no-audit --no-fund) ;;
  esac
done
