# binlog-archiver: one image for the controller, the archive and restore Jobs, and the agent sidecar.
#   docker build -t REGISTRY/binlog-archiver:0.1.0 .
# The image runs JavaScript compiled from the TypeScript sources (`npm run build`, scripts/build.ts: same layout,
# imports rewritten to .js), not the sources through Node's type stripper, whose cost an archive Job's start paid
# wherever the compile cache below did not apply (docs/PERFORMANCE.md §4c).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Every dependency (TypeScript compiles); no install scripts run. Nothing of this stage but dist/ reaches the image.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/
COPY bin ./bin
COPY src ./src
RUN node scripts/build.ts

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
COPY --from=build /app/dist/bin ./bin
COPY --from=build /app/dist/src ./src
# Jobs and the agent sidecar run `binlog-archiver ...` (their command replaces the entrypoint).
RUN chmod 0755 bin/binlog-archiver.js && ln -s /app/bin/binlog-archiver.js /usr/local/bin/binlog-archiver
# Node's compile cache (V8 code cache) of the JavaScript, filled here as the runtime user by running every command
# up to its option parser: a Job then starts without compiling what it loads. Read-only at run time, which Node
# accepts; a run as another UID, or a module not in it, is compiled as without a cache (with the JavaScript build,
# an archive's start costs about 10 % more CPU that way, docs/PERFORMANCE.md §4c).
ENV NODE_COMPILE_CACHE=/app/compile-cache
RUN install -d -o 65532 -g 65532 /app/compile-cache
# Non-root (the UID the Jobs default to); nothing is written outside /tmp, so the root filesystem can be read-only.
USER 65532:65532
RUN for c in inspect archive restore verify parity controller agent; do node bin/binlog-archiver.js "$c" --no-such-option >/dev/null 2>&1; test $? -eq 2 || exit 1; done \
 && node bin/binlog-archiver.js --help >/dev/null
ENTRYPOINT ["node", "bin/binlog-archiver.js"]
