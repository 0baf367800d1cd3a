# One base for every stage, so the Node that compiles is the Node that runs.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# --- build: every dependency, then the compiled service in dist/ -------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build

# --- prod-deps: the runtime's node_modules, without the compiler, the test tools or npm's cache -------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- simulator: the simulated Connectly for docker-compose.yml; never shipped --------------------------------------
# It runs the TypeScript sources with tsx (a dev dependency) and makes its test CA with the openssl CLI, which the
# slim base lacks. /tls is created here, owned by the runtime user, so a fresh named volume mounted there inherits
# that owner and the non-root process can write the CA into it.
FROM build AS simulator
RUN apt-get update \
  && apt-get install -y --no-install-recommends openssl \
  && rm -rf /var/lib/apt/lists/*
COPY test ./test
RUN mkdir -p /tls && chown 10001:10001 /tls
USER 10001:10001
ENTRYPOINT ["node_modules/.bin/tsx", "test/simulator/cli.ts"]
CMD ["--help"]

# --- runtime: the image the chart deploys (the default target, so it stays last) ----------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Root owns the files and the service cannot change them; with a read-only root filesystem it writes only to /tmp.
# package.json and docs/ stay beside dist/: at start-up the service reads its name and version from the one and the
# OpenAPI document it serves from the other.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY docs ./docs
USER 10001:10001
EXPOSE 3000
# Slim images have no curl; node itself asks the liveness route, on the port the service was told to use.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('node:http').get({ host: '127.0.0.1', port: process.env.PORT || 3000, path: '/health/live', timeout: 4000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1)).on('timeout', () => process.exit(1))"]
CMD ["node", "dist/main.js"]
