#!/usr/bin/env bash
# Lints the chart and renders it once per CI scenario (helm/connectly-report-ingest/ci/*-values.yaml) into
# .cache/helm-rendered/, with the pinned helm that install-helm.sh builds. test/helm/chart.spec.ts asserts on the
# templates; this script is the quick "does every scenario render" gate, and leaves the manifests for a reader.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/helm/install-helm.sh >/dev/null
helm=.cache/bin/helm
chart=helm/connectly-report-ingest
out=.cache/helm-rendered

rm -rf "$out"
mkdir -p "$out"

scenarios=("$chart"/ci/*-values.yaml)
[ -e "${scenarios[0]}" ] || { echo "check-chart: no scenarios in $chart/ci" >&2; exit 1; }

for values in "${scenarios[@]}"; do
  scenario=$(basename "$values" -values.yaml)
  # --strict turns lint warnings into failures.
  "$helm" lint --strict "$chart" --values "$values" >"$out/$scenario.lint.txt" ||
    { cat "$out/$scenario.lint.txt" >&2; echo "check-chart: helm lint failed for $scenario" >&2; exit 1; }
  "$helm" template connectly-report-ingest "$chart" --namespace connectly --values "$values" >"$out/$scenario.yaml"
  echo "check-chart: $scenario: lint ok, $(grep -c '^kind:' "$out/$scenario.yaml") objects in $out/$scenario.yaml"
done

# Without the values that have no default the chart must refuse to render, and say which value is missing.
if "$helm" template connectly-report-ingest "$chart" >/dev/null 2>"$out/no-values.txt"; then
  echo "check-chart: the chart rendered without config.kafka.brokers; it must refuse" >&2
  exit 1
fi
grep -q 'config.kafka.brokers is required' "$out/no-values.txt" ||
  { cat "$out/no-values.txt" >&2; echo "check-chart: missing brokers failed without naming them" >&2; exit 1; }
echo "check-chart: without required values the chart refuses to render, naming them"
