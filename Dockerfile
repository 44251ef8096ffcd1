# binlog-archiver: one image for the controller, the archive and restore Jobs, and the agent sidecar.
#   docker build -t REGISTRY/binlog-archiver:0.1.0 .
# Node 24 runs the TypeScript sources directly (type stripping): there is no build step, only dependencies.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only (the `node` devDependency, TypeScript and ESLint stay out); no install scripts run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
# Restores that apply binlogs to a server pipe mariadb-binlog into the mariadb client (src/restore/apply.ts).
# MySQL 8 sources need MySQL's own mysqlbinlog: use an image that adds it (spec.job.image), see docs/DEPLOY.md.
RUN apt-get update \
 && apt-get install -y --no-install-recommends mariadb-client \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# Jobs and the agent sidecar run `binlog-archiver ...` (their command replaces the entrypoint).
RUN chmod 0755 bin/binlog-archiver.js && ln -s /app/bin/binlog-archiver.js /usr/local/bin/binlog-archiver
# Non-root (the UID the Jobs default to); nothing is written outside /tmp, so the root filesystem can be read-only.
USER 65532:65532
ENTRYPOINT ["node", "bin/binlog-archiver.js"]
