# flowergate container image.
#
# Node 24 runs the TypeScript sources directly (type stripping; no build step), so the first stage
# only installs the production dependencies. The runtime image is distroless-style, FROM scratch:
# the Node binary, the libraries it links (glibc, libstdc++, libgcc), a CA bundle, /etc/passwd for
# the numeric user, and the app. No shell, no package manager, no npm. A read-only root filesystem
# works. The only thing written is Node's compile cache, to /tmp when it is writable (the Helm chart
# mounts an emptyDir there): a restart then skips the TypeScript stripper, ~20 MiB less memory and a
# faster start. Without it, nothing changes.
#
#   docker build -t flowergate .        # or: scripts/k8s/build-image.sh (podman, offline)
#   docker run --read-only -p 4180:4180 -p 9464:9464 \
#     -e FLOWERGATE_DJANGO_SECRET_KEY=… -e FLOWERGATE_DJANGO_DATABASE_URL=postgres://… flowergate

ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# A production-only package.json and lock first: the devDependencies' entries (and their quirks,
# e.g. platform-specific optional packages a registry does not carry) cannot make `npm ci` fail.
# The production entries are the committed lock's, unchanged.
RUN node -e ' \
      const fs = require("fs"); \
      const pkg = JSON.parse(fs.readFileSync("package.json", "utf8")); delete pkg.devDependencies; \
      fs.writeFileSync("package.json", JSON.stringify(pkg)); \
      const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")); delete lock.packages[""].devDependencies; \
      for (const [path, entry] of Object.entries(lock.packages)) if (entry.dev) delete lock.packages[path]; \
      fs.writeFileSync("package-lock.json", JSON.stringify(lock));' \
 # --ignore-scripts: no production dependency needs an install script (pure JavaScript only).
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 # Type declarations, source maps and docs are never loaded at run time (about 40 MB, mostly
 # @kubernetes/client-node's).
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' \) -delete

# The runtime's root filesystem, gathered with the build image's shell (the runtime has none).
FROM ${NODE_IMAGE} AS rootfs
RUN set -eu; \
    mkdir -p /rootfs/usr/local/bin /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/home/node; \
    cp /usr/local/bin/node /rootfs/usr/local/bin/node; \
    # Exactly the shared libraries the Node binary links, at the paths the loader looks them up.
    for lib in $(ldd /usr/local/bin/node | grep -o '/[^ ]*'); do cp -L --parents "$lib" /rootfs; done; \
    # The CA bundle is Node's own (Mozilla's roots, as node was built with): never the build
    # machine's, which may hold a TLS-intercepting proxy's CA.
    node -e 'process.stdout.write(require("tls").rootCertificates.join("\n") + "\n")' \
      > /rootfs/etc/ssl/certs/ca-certificates.crt; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\nnode:x:1000:\n' > /rootfs/etc/group; \
    chown 1000:1000 /rootfs/home/node; \
    chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=rootfs /rootfs/ /
ENV PATH=/usr/local/bin
ENV NODE_ENV=production
# V8 sizes its heap from the memory it may use: under a 256 MiB container limit that is 259 MiB, the
# whole container, so it has no reason to collect garbage before the kernel kills the pod (measured:
# the cold PostgreSQL bench row peaks near 300 MiB with ~20 MiB live). Half the limit leaves room for
# the young generation, code and buffers. Semi-spaces of up to 8 MiB (V8 would size them from the
# 128 MiB heap: ~1 MiB) keep short-lived request garbage out of the old generation.
# Setting NODE_OPTIONS replaces both.
ENV NODE_OPTIONS="--max-old-space-size-percentage=50 --max-semi-space-size=8"
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# Numeric, so Kubernetes' runAsNonRoot can verify it; owns nothing in /app (the code is read-only to it).
USER 1000:1000
# 4180: forward-auth endpoints and (sidecar mode) the proxy; 9464: /metrics, /healthz, /readyz.
EXPOSE 4180 9464
# flowergate drains on SIGTERM (FLOWERGATE_PROXY_SHUTDOWN_TIMEOUT, default 25 s).
STOPSIGNAL SIGTERM
# Under a heap limit below 2 GiB V8 lets the old generation grow only 1.3–2× past its live size before
# a full collection; at 128 MiB that made the allocation-heavy bench rows (cold lookups, denials) run
# at 0.6× of the same rows unlimited (docs/benchmarks.md). 300 % restores the 4× V8 uses on large
# machines; the heap limit above still bounds it. Node refuses V8's flag in NODE_OPTIONS, hence here.
ENTRYPOINT ["node", "--heap-growing-percent=300", "/app/bin/flowergate.js"]
CMD ["serve"]
