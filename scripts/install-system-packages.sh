#!/usr/bin/env bash
# Debian packages the full test suite talks to: real Django, database drivers for the fixture
# generator, Tornado (the Flower-like upstream), Celery, Redis and Flower's other dependencies (the
# real Flower 2.1.0 in ../shared/flower), nginx and Caddy (forward-auth clients), Prometheus
# (promtool and a scraping server), Chromium (the login flow), podman and docker-registry (the image
# and release tests) and wrk (the load generator of `npm run bench`).
# Run as root (or with sudo). Safe to run again.
set -euo pipefail
packages=(
  python3-django python3-psycopg2 python3-mysqldb python3-tornado
  python3-celery python3-kombu python3-prometheus-client python3-humanize python3-tz python3-redis redis-server
  nginx libnginx-mod-http-set-misc caddy prometheus chromium
  docker-registry
  podman buildah runc iptables aardvark-dns fuse-overlayfs slirp4netns uidmap debootstrap
  unzip openssl ca-certificates
  wrk
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: done"
