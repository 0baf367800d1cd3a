#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: compose-lint loads it with compose-go (the loader Docker
# Compose is built on) and adds a few checks of its own; the normalised result goes to .cache/compose-config.json.
# Then the service's own configuration loader reads the environment compose gives it. This proves the file is well
# formed and consistent and that the service would accept its settings, not that the stack starts: that needs Docker.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v go >/dev/null 2>&1 || { echo "check-compose: Go is needed to build compose-lint" >&2; exit 1; }

export GOPATH="$PWD/.cache/go"
export GOMODCACHE="$GOPATH/pkg/mod"
export GOCACHE="$GOPATH/build"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
# Module files stay writable, so `rm -rf .cache` works without a chmod first.
export GOFLAGS=-modcacherw

mkdir -p .cache/bin
# Rebuilt on every run; the build cache makes that a second or two once the modules are fetched.
(cd scripts/helm/compose-lint && go build -o "$OLDPWD/.cache/bin/compose-lint" .)

.cache/bin/compose-lint docker-compose.yml .cache/compose-config.json

# The same validation the service runs at start-up, on the ingest service's interpolated environment.
node_modules/.bin/tsx -e "
  const { loadConfig } = require('./src/config/app-config');
  const env = require('./.cache/compose-config.json').services.ingest.environment;
  // The CA file is made inside a container volume at start; the readability check gets a local stand-in.
  loadConfig({ ...env, ...(env.DOWNLOAD_CA_FILE ? { DOWNLOAD_CA_FILE: 'package.json' } : {}) });
  console.log('check-compose: the service accepts the environment of the ingest service');
"

# Shell scripts the compose file mounts into containers.
for script in docker/*.sh; do
  sh -n "$script"
done
echo "check-compose: docker/*.sh parse"
