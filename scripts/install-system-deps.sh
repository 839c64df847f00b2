#!/usr/bin/env bash
# Installs what the integration tests need besides npm packages, on Debian 12:
#   - a ZooKeeper server jar (package zookeeper, 3.8), started by test/support/zookeeper-server.ts
#   - Apache Curator recipes 5.4 (package libcurator-recipes-java), the LeaderLatch Flink uses,
#     compiled against by test/support/fake-jobmanager.ts
#   - javac (default-jdk-headless), only when no JDK is present
#   - Maven (package maven), only when mvn is missing: the real-Flink tests assemble JobManagers from
#     Maven Central (scripts/fetch-flink.sh)
#   - promtool and prometheus (package prometheus, 2.42), only when promtool is missing: the metrics
#     and alert rules are checked with promtool, and test/integration/prometheus.test.ts runs a real
#     Prometheus server on loopback. (On a machine with systemd, the package also enables its own
#     prometheus service on :9090; the tests never use it.)
#   - amtool and Alertmanager (package prometheus-alertmanager, 0.25, about 10 MB, no dependencies
#     beyond the base system), only when amtool is missing: the Alertmanager inhibition example is
#     checked with amtool and run in a real Alertmanager on loopback
#     (test/integration/alertmanager-inhibition.test.ts). With systemd the package enables its own
#     service on :9093 likewise; the tests never use it.
# Idempotent: does nothing (and needs no root) when everything is already there.
# INSTALL_SYSTEM_DEPS_JAVA_DIR points the jar checks elsewhere (the test of this script uses it).
set -euo pipefail

readonly JAVA_DIR=${INSTALL_SYSTEM_DEPS_JAVA_DIR:-/usr/share/java}
# Global, not local: the EXIT trap runs after main has returned.
APT_LOG=
readonly REQUIRED_JARS=(zookeeper.jar zookeeper-jute.jar curator-recipes.jar curator-framework.jar curator-client.jar slf4j-nop.jar)

fail() {
  echo "install-system-deps: $*" >&2
  exit 1
}

missing_packages() {
  local jar need_zk=0
  for jar in "${REQUIRED_JARS[@]}"; do
    [[ -r "$JAVA_DIR/$jar" ]] || need_zk=1
  done
  # Both packages are asked for together: apt resolves the shared dependencies once.
  if ((need_zk)); then
    echo zookeeper libcurator-recipes-java
  fi
  if ! command -v javac >/dev/null 2>&1; then
    echo default-jdk-headless
  fi
  if ! command -v mvn >/dev/null 2>&1; then
    echo maven
  fi
  if ! command -v promtool >/dev/null 2>&1; then
    echo prometheus
  fi
  if ! command -v amtool >/dev/null 2>&1; then
    echo prometheus-alertmanager
  fi
}

main() {
  local packages
  packages=$(missing_packages | tr '\n' ' ' | sed 's/ *$//')
  if [[ -z "$packages" ]]; then
    echo "install-system-deps: ZooKeeper, Curator, javac, Maven, promtool and amtool already present"
    return 0
  fi

  if [[ $EUID -ne 0 ]]; then
    fail "missing system packages: $packages
  run as root:  apt-get update && apt-get install -y --no-install-recommends $packages"
  fi
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: install $packages with your package manager"

  echo "install-system-deps: installing $packages"
  APT_LOG=$(mktemp)
  trap 'rm -f "$APT_LOG"' EXIT
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$APT_LOG" 2>&1 ||
    ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >>"$APT_LOG" 2>&1; then
    tail -n 30 "$APT_LOG" >&2
    fail "apt-get failed installing: $packages (output above)"
  fi

  # Verify rather than trust apt: a renamed package or a partial mirror would otherwise surface
  # later as a confusing ClassNotFoundException inside a test.
  local still_missing
  still_missing=$(missing_packages | tr '\n' ' ' | sed 's/ *$//')
  [[ -z "$still_missing" ]] || fail "still missing after install: $still_missing (expected jars in $JAVA_DIR: ${REQUIRED_JARS[*]}, and javac, mvn, promtool and amtool on PATH)"
  echo "install-system-deps: done"
}

main "$@"
