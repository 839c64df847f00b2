#!/usr/bin/env bash
# Builds a real Kubernetes control plane for the tests in test/kube: kube-apiserver,
# kube-controller-manager and kubectl from k8s.io/kubernetes, and etcd from go.etcd.io/etcd/server,
# at the versions pinned in test/kube/controlplane/go.mod. Prints the directory holding the four
# binaries on stdout (progress goes to stderr).
#
# The binaries live in a cache outside the clone, so that a fresh clone (CI's) reuses them:
#   ${FLINK_HA_SIDECAR_CACHE:-$HOME/.cache/flink-ha-sidecar}/kube/<k8s>-etcd<etcd>-<hash>/bin
# where <hash> covers the wrapper module and the build flags: a change to either builds anew. With
# a warm cache this only prints the path. A cold build takes several minutes (modules come from the
# Go module proxy into the default module cache, which also outlives the clone).
set -euo pipefail

readonly module_dir="$(cd "$(dirname "$0")/../test/kube/controlplane" && pwd)"
readonly cache_root="${FLINK_HA_SIDECAR_CACHE:-$HOME/.cache/flink-ha-sidecar}/kube"

log() {
  echo "build-control-plane: $*" >&2
}

module_version() {
  local version
  # Matches both `require m v1` and a line inside a require block.
  version="$(awk -v m="$1" '{ for (i = 1; i < NF; i++) if ($i == m && $(i + 1) ~ /^v/) { print $(i + 1); exit } }' \
    "$module_dir/go.mod")"
  [[ -n "$version" ]] || { log "no version of $1 in $module_dir/go.mod"; exit 1; }
  echo "$version"
}

# Assigned apart from `readonly` so that a failure stops the script.
k8s_version="$(module_version k8s.io/kubernetes)"
etcd_version="$(module_version go.etcd.io/etcd/server/v3)"
readonly k8s_version etcd_version
k8s_minor="${k8s_version#v1.}"
k8s_minor="${k8s_minor%%.*}"

# What hack/lib/version.sh stamps into a release build: without it the servers report
# v0.0.0-master, and kubectl warns about the version skew on every call.
version_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  version_ldflags+=" -X $pkg.gitTreeState=clean"
done
readonly ldflags="-s -w$version_ldflags"

# binary name -> package, in build order: the apiserver first, since the other two reuse most of
# its compiled packages from the build cache.
readonly binaries=(
  "kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver"
  "kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager"
  "kubectl k8s.io/kubernetes/cmd/kubectl"
  "etcd ./cmd/etcd"
)

key_hash="$(cat "$module_dir/go.mod" "$module_dir/go.sum" "$module_dir/cmd/etcd/main.go" \
  <(printf '%s\n' "$ldflags" "${binaries[@]}") | sha256sum | cut -c1-12)"
readonly out_dir="$cache_root/${k8s_version}-etcd${etcd_version#v}-$key_hash"

is_complete() {
  local entry
  for entry in "${binaries[@]}"; do
    [[ -x "$out_dir/bin/${entry%% *}" ]] || return 1
  done
}

# Everything below runs from one function, which bash reads whole before running it: a checkout
# that changes this file during a long build cannot make the running script read a mix of both.
main() {
  if is_complete; then
    echo "$out_dir/bin"
    exit 0
  fi

  local go_cmd tmp_dir started entry name pkg t0
  go_cmd="$(command -v go || true)"
  if [[ -z "$go_cmd" && -x /usr/local/go/bin/go ]]; then
    go_cmd=/usr/local/go/bin/go
  fi
  [[ -n "$go_cmd" ]] || { log "needs the go command (Go >= 1.26)"; exit 1; }

  mkdir -p "$cache_root"
  # Two test runs starting together on a cold machine would otherwise build everything twice.
  exec 9>"$cache_root/.build.lock"
  if command -v flock >/dev/null 2>&1; then
    flock 9
    if is_complete; then
      echo "$out_dir/bin"
      exit 0
    fi
  fi

  tmp_dir="$(mktemp -d "$cache_root/.building-XXXXXX")"
  # Global on purpose: the EXIT trap runs after main has returned.
  cleanup_dir="$tmp_dir"
  trap 'rm -rf "$cleanup_dir"' EXIT
  mkdir "$tmp_dir/bin"

  export GOFLAGS=-buildvcs=false
  # Static binaries: no C toolchain needed, and the same as the release builds.
  export CGO_ENABLED=0

  started=$SECONDS
  log "Kubernetes $k8s_version and etcd $etcd_version into $out_dir (modules from the Go module proxy)"
  for entry in "${binaries[@]}"; do
    name="${entry%% *}"
    pkg="${entry#* }"
    log "building $name (first run only, several minutes)..."
    t0=$SECONDS
    # One "go: downloading" line per module (about 150 on a cold module cache) would bury the
    # progress lines; errors still come through. pipefail keeps go's exit status.
    (cd "$module_dir" && "$go_cmd" build -trimpath -ldflags="$ldflags" -o "$tmp_dir/bin/$name" "$pkg" 2>&1) |
      { grep -v '^go: downloading ' || true; } >&2
    log "built $name in $((SECONDS - t0)) s"
  done

  # Left over by hand or by an older script: never trusted.
  rm -rf "$out_dir"
  # A half-written directory is never seen under its final name: the rename is atomic, and it fails
  # only when another build got there first with the same result.
  if ! mv -T "$tmp_dir" "$out_dir" 2>/dev/null; then
    is_complete || { log "could not move the build into $out_dir"; exit 1; }
  fi
  log "done in $((SECONDS - started)) s"
  echo "$out_dir/bin"
}

main "$@"; exit
