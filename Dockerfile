# The sidecar's image: compiled JavaScript and its production dependencies on a distroless Node.js
# image (Node.js, glibc, CA certificates, no shell, no npm, no package manager), run as uid 65532.
#
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     -t flink-ha-sidecar:0.1.0 .
#
# Every base image is pinned by digest (tag@sha256:...), so a build takes exactly the bytes this
# file names; renovate.json keeps the digests current. All three stages are on the current Node.js
# LTS (26, the line scripts/test-current-lts.sh tests) and Debian 13; change the major in all of
# them, and in that script, together. test/unit/dockerfile.test.ts checks these properties.

# TypeScript to dist/.
FROM node:26-trixie-slim@sha256:ec7758ee051e457b468b32bde57b0879010b325bb9862718e9615225ce4aaae1 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The production dependencies alone, as the lockfile has them.
FROM node:26-trixie-slim@sha256:ec7758ee051e457b468b32bde57b0879010b325bb9862718e9615225ce4aaae1 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# What runs: no RUN here, nothing in it needs a shell or npm.
FROM gcr.io/distroless/nodejs26-debian13:nonroot@sha256:afc6657a4b662f9cb69ca892b0596e55d6ef81a10e83ee8887b13f602877df89
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="flink-ha-sidecar" \
      org.opencontainers.image.description="Readiness and liveness for Apache Flink JobManagers in high-availability mode: only the leader is Ready." \
      org.opencontainers.image.source="https://github.com/flink-ha-sidecar/flink-ha-sidecar" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# /nodejs/bin on the PATH so that `kubectl exec ... -- node dist/main.js status` finds node.
ENV NODE_ENV=production \
    PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /app
# Owned by root, readable by any uid: the sidecar writes nothing here, so readOnlyRootFilesystem holds.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json LICENSE ./
# The distroless nonroot user, by number so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8090
# node itself is PID 1 and handles SIGTERM: no shell in between to swallow signals. Arguments given
# to the container (`docker run IMAGE --version`, a pod's args) go to the sidecar.
ENTRYPOINT ["/nodejs/bin/node", "dist/main.js"]
