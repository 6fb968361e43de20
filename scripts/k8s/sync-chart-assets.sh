#!/usr/bin/env bash
# Copies the Prometheus rules and the Grafana dashboard into the Helm chart, which ships them
# through .Files.Get (a chart cannot read files outside its directory).
#
#   scripts/k8s/sync-chart-assets.sh          # copy
#   scripts/k8s/sync-chart-assets.sh --check  # exit 1 when a copy differs from its source
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pairs=(
  "deploy/prometheus/flowergate-rules.yaml:helm/flowergate/files/flowergate-rules.yaml"
  "deploy/grafana/flowergate-dashboard.json:helm/flowergate/files/flowergate-dashboard.json"
)
check=false
[[ "${1:-}" == "--check" ]] && check=true
status=0
for pair in "${pairs[@]}"; do
  src="$root/${pair%%:*}" dst="$root/${pair##*:}"
  if [[ ! -f "$src" ]]; then
    echo "missing: ${pair%%:*} (the chart ships a placeholder until it exists)" >&2
    status=1
    continue
  fi
  if $check; then
    if ! cmp -s "$src" "$dst"; then
      echo "drift: ${pair##*:} differs from ${pair%%:*}; run scripts/k8s/sync-chart-assets.sh" >&2
      status=1
    fi
  else
    cp "$src" "$dst"
    echo "copied ${pair%%:*} -> ${pair##*:}"
  fi
done
exit "$status"
