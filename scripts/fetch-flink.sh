#!/usr/bin/env bash
# Assembles the classpath of a real Flink JobManager of the given version from Maven Central
# (flink-dist itself is not published there) and prints the directory holding its jars:
#
#   scripts/fetch-flink.sh 1.20.5                ->   <cache>/flink/1.20.5-<pom hash>/lib
#   scripts/fetch-flink.sh --kubernetes 2.3.0   ->   <cache>/flink/2.3.0-kubernetes-<pom hash>/lib
#
# --kubernetes adds flink-kubernetes (Kubernetes high availability; test/flink/pom.xml's
# "kubernetes" profile). Maven Central does not have it for every patch release: then this fails.
#
# <cache> is $FLINK_HA_SIDECAR_CACHE, else ~/.cache/flink-ha-sidecar: outside the clone, so that
# every checkout and worktree shares one download and `git clean` does not throw it away. The
# directory is keyed by a hash of test/flink/pom.xml as well as the version: a pom that gains a
# dependency gets a classpath of its own instead of a stale one (the jars of older keys cost
# little, being hard links into the shared Maven repository; delete them at will).
#
# Maven's local repository is <cache>/m2 rather than ~/.m2, so that
#   - everything this script downloads is removed by deleting one directory;
#   - Flink artifacts a developer built or installed locally (same version, different bytes) can
#     never leak into the tests;
#   - the jars in lib/ are hard links into it: a version costs its disk space once.
# ~/.m2/settings.xml (mirrors, proxies) still applies.
#
# Idempotent and safe to run concurrently: a version directory appears whole (built in a temporary
# directory, then renamed) or not at all, and runs for the same cache are serialised by a lock.
# Warm, it only checks that the directory exists. Progress goes to stderr; stdout is only the path.
set -euo pipefail

usage() {
  echo "usage: $0 [--kubernetes] <flink version>   (e.g. 1.20.5)" >&2
  exit 2
}

KUBERNETES=false
if [[ ${1-} == --kubernetes ]]; then
  KUBERNETES=true
  shift
fi
readonly KUBERNETES
[[ $# -eq 1 ]] || usage
readonly VERSION=$1
# Also keeps the version safe to use in paths.
[[ $VERSION =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?(-[A-Za-z0-9.]+)?$ ]] || usage

readonly CACHE=${FLINK_HA_SIDECAR_CACHE:-$HOME/.cache/flink-ha-sidecar}
readonly VERSIONS_DIR=$CACHE/flink
readonly POM=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/flink/pom.xml
[[ -r $POM ]] || { echo "fetch-flink: $POM not found" >&2; exit 1; }
POM_HASH=$(sha256sum "$POM" | cut -c1-12)
readonly POM_HASH
if $KUBERNETES; then
  readonly DEST=$VERSIONS_DIR/$VERSION-kubernetes-$POM_HASH
else
  readonly DEST=$VERSIONS_DIR/$VERSION-$POM_HASH
fi

if [[ -d $DEST/lib ]]; then
  echo "$DEST/lib"
  exit 0
fi

command -v mvn >/dev/null 2>&1 || { echo "fetch-flink: mvn not found (install Maven 3.6.3 or newer)" >&2; exit 1; }

mkdir -p "$VERSIONS_DIR"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$VERSIONS_DIR/.fetch.lock"
  flock 9
  # Someone else may have finished the same version while this run waited for the lock.
  if [[ -d $DEST/lib ]]; then
    echo "$DEST/lib"
    exit 0
  fi
fi

readonly WHAT="Flink $VERSION$($KUBERNETES && echo ' with flink-kubernetes')"
echo "fetching $WHAT from Maven Central (first run only)..." >&2
started=$SECONDS
tmp=$(mktemp -d "$VERSIONS_DIR/.tmp-$(basename "$DEST")-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if ! mvn -q -B -Dstyle.color=never -f "$POM" \
  -Dflink.version="$VERSION" \
  -Dflink.kubernetes="$KUBERNETES" \
  -Dmaven.repo.local="$CACHE/m2" \
  -Dmdep.outputFile="$tmp/classpath.txt" \
  -Dmdep.includeScope=runtime \
  dependency:build-classpath >"$tmp/mvn.log" 2>&1; then
  tail -n 40 "$tmp/mvn.log" >&2
  echo "fetch-flink: Maven could not resolve $WHAT (output above)" >&2
  exit 1
fi

mkdir "$tmp/lib"
# No newline at the end of the file: read answers 1 although it read the line.
IFS=: read -r -a jars <"$tmp/classpath.txt" || true
[[ ${#jars[@]} -gt 0 ]] || { echo "fetch-flink: Maven resolved an empty classpath for $WHAT" >&2; exit 1; }
for jar in "${jars[@]}"; do
  ln "$jar" "$tmp/lib/" 2>/dev/null || cp "$jar" "$tmp/lib/"
done
rm -f "$tmp/mvn.log"

# rename(2) of a directory is atomic; -T refuses to move it into an existing $DEST.
mv -T "$tmp" "$DEST"
trap - EXIT
echo "fetched $WHAT (${#jars[@]} jars) in $((SECONDS - started)) s" >&2
echo "$DEST/lib"
