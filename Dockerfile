# One image, two entrypoints: the operator (default) and the sink workers it deploys
# (`node sink/main.ts`, as operator/render/objects.ts runs them). Node 24 runs the
# TypeScript sources directly (type stripping), so there is no build step and no
# dev dependency in the image.
#
#   docker build -t rockset-sink-operator:0.1.0 .
#
# test/image/entrypoints.test.ts copies exactly what the COPY lines below name into a
# clean directory, installs it the same way and runs both entrypoints from there.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script (all pure JS), and none may run one
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    NODE_OPTIONS="--disable-warning=ExperimentalWarning --disable-warning=TimeoutNegativeWarning"
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY sink ./sink
COPY operator ./operator
COPY crds ./crds
# the node images' unprivileged `node` user; the chart and the worker pods run as 1000 too
USER 1000:1000
EXPOSE 8080
CMD ["node", "operator/main.ts"]
