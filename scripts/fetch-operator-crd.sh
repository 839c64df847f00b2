#!/usr/bin/env bash
# Fetches the Flink Kubernetes Operator's FlinkDeployment CustomResourceDefinition from Maven
# Central and prints the path of the YAML file:
#
#   scripts/fetch-operator-crd.sh            ->   <cache>/flink-kubernetes-operator/1.10.0/flinkdeployments.flink.apache.org-v1.yml
#   scripts/fetch-operator-crd.sh 1.10.0     ->   the same
#
# The operator publishes its CRDs inside org.apache.flink:flink-kubernetes-operator-api, as
# META-INF/fabric8/<plural>.<group>-v1.yml (fabric8's crd-generator writes them while the jar is
# built; the "-v1" file is for apiextensions.k8s.io/v1, the one a current API server serves). The
# Helm chart's crds/ directory holds the same files. test/kube/kubernetes-ha-manifests.test.ts
# installs the CRD on a real kube-apiserver and applies manifests/operator/ against it.
#
# Version: 1.10.0, the newest release of the api jar that Maven Central serves to this project's
# machines (its maven-metadata lists 1.3.0, 1.7.0 and 1.10.0). The FlinkDeployment fields the
# example uses (jobManager.replicas, jobManager.podTemplate, flinkConfiguration as strings,
# serviceAccount, mode, flinkVersion v1_20) have the same schema in later releases; the operator
# that runs the example must still be 1.12 or later (docs/deploying.md says why).
#
# Maven resolves the jar with strict checksums (-C: Central's .sha1 must match), and this script
# then checks the jar against the SHA-256 pinned below for the versions it knows. Maven's local
# repository is <cache>/m2, shared with scripts/fetch-flink.sh; <cache> is $FLINK_HA_SIDECAR_CACHE,
# else ~/.cache/flink-ha-sidecar. The CRD lands in <cache>/flink-kubernetes-operator/<version>/,
# written to a temporary directory and renamed into place under a lock, so a concurrent or
# interrupted run never leaves half a directory. Warm, it only checks that the file exists. Progress
# goes to stderr; stdout is only the path.
set -euo pipefail

readonly DEFAULT_VERSION=1.10.0
readonly VERSION=${1:-$DEFAULT_VERSION}
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "usage: $0 [operator version, e.g. $DEFAULT_VERSION]" >&2; exit 2; }
[[ $# -le 1 ]] || { echo "usage: $0 [operator version, e.g. $DEFAULT_VERSION]" >&2; exit 2; }

# SHA-256 of flink-kubernetes-operator-api-<version>.jar as Maven Central serves it.
declare -A PINNED_JAR_SHA256=(
  [1.10.0]=b1f44814e17514fa8395c61b329a3ee9087123a5bda5b21fe1a495d5182c30b6
)

readonly ARTIFACT=org.apache.flink:flink-kubernetes-operator-api
readonly CRD_ENTRY=META-INF/fabric8/flinkdeployments.flink.apache.org-v1.yml
readonly CACHE=${FLINK_HA_SIDECAR_CACHE:-$HOME/.cache/flink-ha-sidecar}
readonly VERSIONS_DIR=$CACHE/flink-kubernetes-operator
readonly DEST=$VERSIONS_DIR/$VERSION
readonly CRD_FILE=$DEST/$(basename "$CRD_ENTRY")

if [[ -f $CRD_FILE ]]; then
  echo "$CRD_FILE"
  exit 0
fi

command -v mvn >/dev/null 2>&1 || { echo "fetch-operator-crd: mvn not found (install Maven 3.6.3 or newer)" >&2; exit 1; }

mkdir -p "$VERSIONS_DIR"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$VERSIONS_DIR/.fetch.lock"
  flock 9
  if [[ -f $CRD_FILE ]]; then
    echo "$CRD_FILE"
    exit 0
  fi
fi

echo "fetching the Flink Kubernetes Operator's CRD ($ARTIFACT:$VERSION) from Maven Central (first run only)..." >&2
started=$SECONDS
tmp=$(mktemp -d "$VERSIONS_DIR/.tmp-$VERSION-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Outside any project: an empty working directory, so no pom.xml around changes what is resolved.
if ! (cd "$tmp" && mvn -q -B -C -Dstyle.color=never \
  -Dmaven.repo.local="$CACHE/m2" \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
  -Dartifact="$ARTIFACT:$VERSION:jar" \
  -DoutputDirectory="$tmp/jar" >"$tmp/mvn.log" 2>&1); then
  tail -n 40 "$tmp/mvn.log" >&2
  echo "fetch-operator-crd: Maven could not resolve $ARTIFACT:$VERSION (output above)" >&2
  exit 1
fi

jar=$tmp/jar/flink-kubernetes-operator-api-$VERSION.jar
[[ -f $jar ]] || { echo "fetch-operator-crd: Maven reported success but $jar is missing" >&2; exit 1; }
pinned=${PINNED_JAR_SHA256[$VERSION]-}
if [[ -n $pinned ]]; then
  actual=$(sha256sum "$jar" | cut -d' ' -f1)
  [[ $actual == "$pinned" ]] || { echo "fetch-operator-crd: $jar has SHA-256 $actual, expected $pinned" >&2; exit 1; }
else
  echo "fetch-operator-crd: no SHA-256 pinned for $VERSION; relying on Maven's checksum check alone" >&2
fi

mkdir "$tmp/out"
# unzip where installed, else the JDK's jar tool (Maven needs a JDK anyway).
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$jar" "$CRD_ENTRY" -d "$tmp/x" || { echo "fetch-operator-crd: $jar has no $CRD_ENTRY" >&2; exit 1; }
elif command -v jar >/dev/null 2>&1; then
  mkdir -p "$tmp/x"
  (cd "$tmp/x" && jar xf "$jar" "$CRD_ENTRY")
else
  echo "fetch-operator-crd: neither unzip nor jar found to open $jar" >&2
  exit 1
fi
[[ -s $tmp/x/$CRD_ENTRY ]] || { echo "fetch-operator-crd: $jar has no $CRD_ENTRY" >&2; exit 1; }
mv "$tmp/x/$CRD_ENTRY" "$tmp/out/"
sha256sum "$jar" | cut -d' ' -f1 >"$tmp/out/jar.sha256"

# rename(2) of a directory is atomic; -T refuses to move it into an existing $DEST.
mv -T "$tmp/out" "$DEST"
echo "fetched the FlinkDeployment CRD of operator $VERSION in $((SECONDS - started)) s" >&2
echo "$CRD_FILE"
