#!/usr/bin/env bash
# Builds the pinned helm from its Go module into .cache/bin, so CI needs only Go and the module proxy.
# Module and build caches live under .cache/go: a second run finds the binary and returns at once.
set -euo pipefail
cd "$(dirname "$0")/../.."

helm_version=v3.21.4
bin_dir="$PWD/.cache/bin"
helm="$bin_dir/helm"

export GOPATH="$PWD/.cache/go"
export GOMODCACHE="$GOPATH/pkg/mod"
export GOCACHE="$GOPATH/build"
# The machine's own Go builds it; never fetch another toolchain behind the caller's back.
export GOTOOLCHAIN=local
export GOBIN="$bin_dir"
export CGO_ENABLED=0
# Module files stay writable, so `rm -rf .cache` works without a chmod first.
export GOFLAGS=-modcacherw

# Both must match: the module the binary was built from, and the version it reports (set by the link flags below).
is_installed() {
  [ -x "$helm" ] || return 1
  [ "$(go version -m "$helm" 2>/dev/null | awk '$1 == "mod" && $2 == "helm.sh/helm/v3" { print $3 }')" = "$helm_version" ] || return 1
  [ "$("$helm" version --template '{{.Version}}' 2>/dev/null)" = "$helm_version" ]
}

if is_installed; then
  echo "helm $helm_version already in $helm"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "install-helm: Go is needed to build helm $helm_version" >&2; exit 1; }

# helm's release build stamps its version and the Kubernetes version it assumes without a cluster (client-go's
# minor, as 1.x); a plain `go install` would leave Kubernetes 1.20, and `helm template` would refuse charts that
# need anything newer.
gomod=$(go mod download -json "helm.sh/helm/v3@$helm_version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
client_go=$(awk '$1 == "k8s.io/client-go" { print $2 }' "$gomod")
kube_minor=$(echo "$client_go" | cut -d. -f2)
[ -n "$kube_minor" ] || { echo "install-helm: cannot find the client-go version of helm $helm_version" >&2; exit 1; }

ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
for package in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  ldflags="$ldflags -X $package.k8sVersionMajor=1 -X $package.k8sVersionMinor=$kube_minor"
done

echo "install-helm: building helm $helm_version (Kubernetes 1.$kube_minor by default) with $(go version | cut -d' ' -f3)"
mkdir -p "$bin_dir"
go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version"

is_installed || { echo "install-helm: $helm is not helm $helm_version" >&2; exit 1; }
echo "install-helm: helm $helm_version is in $helm"
