# One image for both processes of gitfleet, ghcr.io/gitfleet/gitfleet:
#
#   docker build -t ghcr.io/gitfleet/gitfleet:0.1.0 .
#   docker run ghcr.io/gitfleet/gitfleet:0.1.0 control-plane     # the default
#   docker run ghcr.io/gitfleet/gitfleet:0.1.0 control-plane reencrypt   # after a secret key rotation
#   docker run ghcr.io/gitfleet/gitfleet:0.1.0 agent [--kubeconfig FILE] [--context NAME]
#
# Node 24 runs the control plane's TypeScript sources directly (type stripping). The agent runs
# as one bundled ES module (agent/bundle.ts): an idle agent is mostly the memory of its loaded
# code, and the bundle needs no type stripping (docs/benchmarks.md, agent footprint).
# Configuration is GITFLEET_* variables (control-plane/src/config.ts, agent/src/agent.ts).

FROM node:24-slim AS deps
WORKDIR /app
# Only the manifests first, so the dependency layer is reused until they change. Only the
# workspaces the two processes run are installed; the others (cli, test) are left out.
COPY package.json package-lock.json ./
COPY proto/package.json proto/
COPY control-plane/package.json control-plane/
COPY agent/package.json agent/
RUN npm ci --omit=dev --no-audit --no-fund \
      --workspace=proto --workspace=control-plane --workspace=agent \
    && npm cache clean --force

# The agent bundle: esbuild is a development dependency, so it is built in a stage of its own.
FROM node:24-slim AS agent-bundle
WORKDIR /app
COPY package.json package-lock.json ./
COPY proto/package.json proto/
COPY agent/package.json agent/
RUN npm ci --no-audit --no-fund --workspace=proto --workspace=agent
COPY proto/ proto/
COPY agent/ agent/
RUN node agent/bundle.ts /app/agent/dist/agent.mjs

# The rendering tools of Helm and Kustomize fleets: the same helm and kubectl (its kustomize)
# the tests run, built from the pinned wrapper modules of test/env/toolchain.
FROM golang:1.26 AS render-tools
WORKDIR /src
COPY test/env/toolchain/helm/ helm/
COPY test/env/toolchain/kubernetes/ kubernetes/
RUN cd helm && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v4.3.2" \
      -o /out/helm helm.sh/helm/v4/cmd/helm
RUN cd kubernetes && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/kubectl k8s.io/kubernetes/cmd/kubectl

FROM node:24-slim
LABEL org.opencontainers.image.title="gitfleet" \
      org.opencontainers.image.description="GitOps control plane for fleets of Kubernetes clusters: control plane and agent"
ENV NODE_ENV=production \
    GITFLEET_DATA_DIR=/var/lib/gitfleet
WORKDIR /app
# node_modules holds the workspace links (node_modules/@gitfleet/* -> ../../<workspace>).
COPY --from=deps /app/node_modules ./node_modules
# The root manifest holds gitfleet's version, which the control plane reports (proto/src/version.ts).
COPY package.json ./
COPY proto/ proto/
COPY control-plane/ control-plane/
COPY agent/ agent/
COPY --from=agent-bundle /app/agent/dist/agent.mjs agent/dist/agent.mjs
COPY --from=render-tools /out/helm /out/kubectl /usr/local/bin/
# The entrypoint chooses the process by its first argument (the agent chart passes
# args: ["agent"]); exec makes node PID 1, which handles SIGTERM itself.
RUN printf '%s\n' \
      '#!/bin/sh' \
      'set -e' \
      'cmd="${1:-control-plane}"' \
      'if [ "$#" -gt 0 ]; then shift; fi' \
      'case "$cmd" in' \
      '  control-plane) exec node /app/control-plane/src/server.ts "$@" ;;' \
      '  agent) exec node /app/agent/dist/agent.mjs "$@" ;;' \
      '  *) echo "usage: gitfleet control-plane | agent [--kubeconfig FILE] [--context NAME] (got: $cmd)" >&2; exit 64 ;;' \
      'esac' \
      > /usr/local/bin/gitfleet \
    && chmod 0755 /usr/local/bin/gitfleet \
    && mkdir -p /var/lib/gitfleet \
    && chown 65532:65532 /var/lib/gitfleet
# The control plane keeps Git mirrors and, without GITFLEET_TLS_CERT_FILE, its generated gRPC
# certificate in GITFLEET_DATA_DIR (mount a volume there to keep the certificate); the agent
# writes nothing to disk.
USER 65532:65532
RUN node /app/agent/dist/agent.mjs --version
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/gitfleet"]
CMD ["control-plane"]
