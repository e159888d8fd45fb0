# One image for every kubemu role (control plane, node, load balancer): the
# same programs `kubemu up` runs in network namespaces. See docker-compose.yml.
#
# BASE is Node.js 20 on Debian bookworm. Where no registry is reachable,
# `sudo scripts/build-base-image` builds it locally under this same tag.
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
# better-sqlite3 compiles when no prebuilt binary can be fetched.
RUN if ! (command -v g++ && command -v make && command -v python3) >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /opt/kubemu
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages packages
# npm ci runs `prepare` (tsc -b); then only what runs is kept.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE}
# Nodes are namespaces and nftables; pods use the node's tools (curl, wget, dig, ps).
RUN if ! (command -v ip && command -v nsenter && command -v nft && command -v conntrack && command -v iptables \
          && command -v curl && command -v wget && command -v ps && command -v dig && command -v script && command -v openssl) >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates iproute2 util-linux bsdutils nftables conntrack \
        iptables curl wget procps dnsutils openssl && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /opt/kubemu /opt/kubemu
ENV PATH=/opt/kubemu/node_modules/.bin:$PATH
# The supervisor is not a hot path: V8 lite mode (no optimizing compiler) keeps it small.
ENTRYPOINT ["node", "--lite-mode", "--no-warnings", "/opt/kubemu/packages/cli/bin/kubemu.js", "container"]
CMD ["node"]
