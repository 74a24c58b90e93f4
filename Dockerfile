# One image, two entrypoints: the operator (default) and the sink workers it deploys
# (`node sink/main.js`, as operator/render/objects.ts runs them). The TypeScript
# sources are compiled in a build stage (tsconfig.build.json); the image holds the
# JavaScript and the production dependencies only: no type stripping at run time
# (an experimental Node feature, and ~20 MB of memory per process).
#
#   docker build -t <registry>/rockset-sink-operator:0.1.0 . && docker push <registry>/rockset-sink-operator:0.1.0
#
# Nothing publishes it for you. Its name is what the chart (image.repository, tag =
# appVersion) and the operator (its default OPERATOR_SINK_IMAGE) expect:
# rockset-sink-operator:<version>, under your registry (test/image/name.test.ts).
#
# test/image/entrypoints.test.ts follows this file: it compiles what the build stage
# compiles, installs the deps stage's dependencies, lays out the final stage in a clean
# directory and runs both entrypoints from there.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY sink ./sink
COPY operator ./operator
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir dist

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script (all pure JS), and none may run one
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="rockset-sink-operator" \
      org.opencontainers.image.version="0.1.0"
ENV NODE_ENV=production \
    NODE_OPTIONS="--disable-warning=TimeoutNegativeWarning"
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY --from=build /app/dist ./
COPY crds ./crds
# the node images' unprivileged `node` user; the chart and the worker pods run as 1000 too
USER 1000:1000
EXPOSE 8080
CMD ["node", "operator/main.js"]
