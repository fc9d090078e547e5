#!/usr/bin/env bash
# The main command: installs what is missing, builds the page, serves it on http://127.0.0.1:8080/.
# PORT=... and HOST=... override the address.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/build-web.sh"
exec node "$ROOT/tests/browser/serve.mjs" "$ROOT/dist" "${HOST:-127.0.0.1}" "${PORT:-8080}"
