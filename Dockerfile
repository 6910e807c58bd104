# syntax=docker/dockerfile:1
# One image, three processes (README, "Docker"):
#   node packages/builder/dist/main.js · node packages/relay/dist/main.js (the default) · node packages/api/dist/main.js
# and the two ops tools, run in place of the process (`docker compose run --rm relay-1 node tools/dist/…`):
#   node tools/dist/republish.js · node tools/dist/dlq.js
# Stages: build (every dependency, `pnpm build`, then `pnpm deploy --prod` of each service and of the
# tools) → runtime (Node 20 slim, production dependencies only, non-root, tini as PID 1, a node-based
# HEALTHCHECK).
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
RUN npm install -g pnpm@10.34.9 && npm cache clean --force
WORKDIR /src
# The store is filled from the lockfile alone, so this layer is reused until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm build
# Each service's dist/ bundles the workspace code it uses; its npm dependencies come from its own
# package.json (`scripts/build.ts` fails when the bundle imports one it does not declare). The same for
# the ops tools: tools/dist/{republish,dlq}.js and tools/package.json. `--legacy`: the workspace does
# not use injected workspace packages, which pnpm 10's deploy otherwise requires.
RUN for package in builder relay api tools; do \
      pnpm --filter "@chat3/$package" deploy --legacy --prod --prefer-offline "/out/$package" || exit 1; \
    done

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: it forwards SIGTERM to node and reaps zombies. Node as PID 1 would also get SIGTERM,
# but the kernel ignores a signal PID 1 has no handler for, and the services install theirs only once
# MongoDB answers: a `docker stop` during start-up would then wait for the SIGKILL.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out/builder/package.json packages/builder/package.json
COPY --from=build /out/builder/node_modules packages/builder/node_modules
COPY --from=build /out/builder/dist packages/builder/dist
COPY --from=build /out/relay/package.json packages/relay/package.json
COPY --from=build /out/relay/node_modules packages/relay/node_modules
COPY --from=build /out/relay/dist packages/relay/dist
COPY --from=build /out/api/package.json packages/api/package.json
COPY --from=build /out/api/node_modules packages/api/node_modules
COPY --from=build /out/api/dist packages/api/dist
COPY --from=build /out/tools/package.json tools/package.json
COPY --from=build /out/tools/node_modules tools/node_modules
COPY --from=build /out/tools/dist tools/dist
COPY docker/healthcheck.mjs docker/healthcheck.mjs
# The image's `node` user (uid 1000); nothing under /app is writable by it.
USER node
# Ops ports: builder 9464, relay 9465, api 9466 (METRICS_PORT); the catch-up API listens on 8080
# (set API_HOST=0.0.0.0 in a container).
EXPOSE 8080 9464 9465 9466
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["node", "docker/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "packages/relay/dist/main.js"]
