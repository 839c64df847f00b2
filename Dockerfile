# The sidecar's image: the program bundled by esbuild (dist/: one file, plus the packages it loads
# only where it uses them; no node_modules) and V8's compile cache for it, on a distroless Node.js
# image (Node.js, glibc, CA certificates, no shell, no npm, no package manager), run as uid 65532.
#
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     -t flink-ha-sidecar:0.1.0 .
#
# Every base image is pinned by digest (tag@sha256:...), so a build takes exactly the bytes this
# file names; renovate.json keeps the digests current. All stages are on the current Node.js LTS
# (26, the line scripts/test-current-lts.sh tests) and Debian 13; change the major in all of them,
# and in that script, together. test/unit/dockerfile.test.ts checks these properties.

# dist/: `npm run build` (scripts/build.ts) bundles src/ and its dependencies.
FROM node:26-trixie-slim@sha256:ec7758ee051e457b468b32bde57b0879010b325bb9862718e9615225ce4aaae1 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
# The compile cache's directory, for the next stage's user (a distroless stage has no mkdir).
RUN npm run build && mkdir compile-cache && chown 65532:65532 compile-cache

# V8's compile cache for dist/main.js (Node's NODE_COMPILE_CACHE), made by the very Node binary of
# the final stage, as the user it runs as: Node keeps a cache only for its own version, V8 flags and
# uid. A start then skips compiling what `--version` compiled (the bundle's top level).
FROM gcr.io/distroless/nodejs26-debian13:nonroot@sha256:afc6657a4b662f9cb69ca892b0596e55d6ef81a10e83ee8887b13f602877df89 AS compile-cache
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./
COPY --from=build --chown=65532:65532 /app/compile-cache ./compile-cache
USER 65532:65532
ENV NODE_COMPILE_CACHE=/app/compile-cache
RUN ["/nodejs/bin/node", "dist/main.js", "--version"]

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
    NODE_COMPILE_CACHE=/app/compile-cache \
    PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /app
# dist/ and package.json are owned by root and readable by any uid. The compile cache belongs to
# uid 65532, whose cache it is (Node writes its files 0600); the sidecar writes nothing at run time,
# so readOnlyRootFilesystem holds. Another uid starts without the cache, a little slower.
COPY --from=build /app/dist ./dist
COPY --from=compile-cache --chown=65532:65532 /app/compile-cache ./compile-cache
COPY package.json LICENSE ./
# The distroless nonroot user, by number so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8090
# node itself is PID 1 and handles SIGTERM: no shell in between to swallow signals. Arguments given
# to the container (`docker run IMAGE --version`, a pod's args) go to the sidecar.
ENTRYPOINT ["/nodejs/bin/node", "dist/main.js"]
