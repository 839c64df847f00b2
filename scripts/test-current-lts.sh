#!/usr/bin/env bash
# Runs the unit tests and the built binary on the current Node.js LTS, the line the container image
# ships (Dockerfile: built on node:26-trixie-slim, run on distroless nodejs26), next to the Node 20
# line this machine runs. The LTS binary comes from the npm registry (the `node` package ships it),
# kept outside the clone in ${FLINK_HA_SIDECAR_CACHE:-~/.cache/flink-ha-sidecar}/node-lts/, where
# bench/lib/image-node.ts finds it too.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly LTS_MAJOR=26
readonly PREFIX=${FLINK_HA_SIDECAR_CACHE:-$HOME/.cache/flink-ha-sidecar}/node-lts
node_bin="$PREFIX/node_modules/.bin/node"

if ! "$node_bin" --version 2>/dev/null | grep -q "^v${LTS_MAJOR}\."; then
  echo "test-current-lts: installing Node.js ${LTS_MAJOR} from the npm registry into $PREFIX"
  mkdir -p "$PREFIX"
  npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --loglevel=error "node@${LTS_MAJOR}" >/dev/null
fi
echo "test-current-lts: $("$node_bin" --version)"

# The binary itself: it starts, parses settings and exits as documented.
"$node_bin" dist/main.js --version
set +e
"$node_bin" dist/main.js --port=x >/dev/null 2>&1
code=$?
set -e
if [[ $code -ne 2 ]]; then
  echo "test-current-lts: invalid settings exited with $code, expected 2" >&2
  exit 1
fi

"$node_bin" --import tsx --test test/unit/*.test.ts test/integration/process.test.ts
