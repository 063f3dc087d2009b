# syntax=docker/dockerfile:1
#
# One image for both services of the course platform; SERVICE picks which one runs.
#
#   docker build -t course-platform .                                   # SERVICE=auth-service
#   docker build --build-arg SERVICE=course-service -t course-platform-course .
#   docker run --rm -p 8081:8081 course-platform                        # auth-service, embedded mode
#   docker run --rm -p 8082:8082 -e SERVICE=course-service course-platform
#   docker run --rm course-platform node dist/scripts/migrate.js auth-service up   # one-off command
#
# Base image: the current Node.js LTS. Node.js 26 has been Active LTS since 2026-10-28 (Node.js 24 is
# in Maintenance LTS since 2026-10-20); trixie-slim is glibc, so argon2's prebuilt linux-x64/arm64
# binary loads without a compiler. Override with --build-arg NODE_IMAGE=node:24-bookworm-slim, and
# pin a digest (node:26-trixie-slim@sha256:...) for reproducible production builds.
#
# Signals: the CMD execs node, so node is PID 1 and receives SIGTERM itself; the services handle
# SIGTERM/SIGINT (drain requests and workers, close pools, exit). The only children are auth-service's
# short `chrt` runs (util-linux, essential in Debian: its hashing threads become SCHED_IDLE, which needs
# no capability), and node waits for them itself, so no reaper is needed; `docker run --init` or compose
# `init: true` adds one (tini) and is harmless.
ARG NODE_IMAGE=node:26-trixie-slim

# ---- deps: every dependency, dev included, for the TypeScript build --------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the build needs no install script (argon2 ships prebuilt binaries and tsc is JS).
RUN npm ci --ignore-scripts --no-audit --no-fund

# ---- build: tsc -> dist/ --------------------------------------------------------------------------
FROM deps AS build
# .dockerignore lets only package files, tsconfig files, sources, migrations, config and swagger in.
COPY . .
RUN npm run build

# ---- runtime: production dependencies + dist + migrations + config + swagger ----------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="course-platform-backend" \
      org.opencontainers.image.description="auth-service and course-service of the online-course platform (SERVICE selects)"
# HOST: the services default to 127.0.0.1, which no one outside the container could reach.
# VAR_DIR: embedded data, generated keys, secrets and .eml mail when no real servers are configured;
# mount a volume there to keep them (docker run -v course-platform-var:/var/lib/course-platform ...).
# MALLOC_ARENA_MAX: glibc keeps a 19 MiB argon2 block per libuv thread arena; two arenas hold
# auth-service near 160 MiB instead of 200+ under a login flood, at the same speed (npm run bench).
# --max-semi-space-size=8: a smaller young generation keeps course-service under 200 MiB while serving
# cached lists at full rate (peak 253 -> 184 MiB, same req/s in npm run bench).
# --max-old-space-size=160: V8 lets the old generation grow in proportion to its limit, which it derives
# from the host's memory when none is set (4 GiB on a 24 GiB host): 20 closed-loop review writers then
# piled up to 90 MiB of garbage between collections (course-service peak 165-212 MiB); with a 160 MiB
# limit the peak was about 110 MiB at the same rate. The live heap is 25-45 MiB (the near cache is
# bounded by cache.nearMaxBytes). npm run bench runs the services with these lines (bench/load.ts).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    VAR_DIR=/var/lib/course-platform \
    MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=160"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && mkdir -p /var/lib/course-platform \
 && chown node:node /var/lib/course-platform
# Application files stay owned by root: the service user can read them, not change them.
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY config ./config
COPY swagger ./swagger

# Late, so that both services' images share every layer above.
ARG SERVICE=auth-service
ENV SERVICE=${SERVICE}

# uid/gid 1000 in the official node images; Kubernetes manifests name the uid (runAsUser: 1000).
USER node
EXPOSE 8081 8082

# Liveness with node's own fetch (slim images have no curl). The port follows the same variables as
# the services: PORT, else AUTH_PORT/COURSE_PORT, else 8081/8082.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --start-interval=2s --retries=3 \
  CMD ["node", "-e", "const e=process.env,p=e.PORT||(e.SERVICE==='course-service'?e.COURSE_PORT||8082:e.AUTH_PORT||8081);fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# sh only resolves $SERVICE at run time, then execs node (node becomes PID 1; see the top).
CMD ["/bin/sh", "-c", "case \"$SERVICE\" in auth-service|course-service) exec node \"dist/cmd/$SERVICE/main.js\" ;; *) echo \"SERVICE must be auth-service or course-service, not '$SERVICE'\" >&2; exit 64 ;; esac"]
