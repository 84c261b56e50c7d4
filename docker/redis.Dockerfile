# Redis 7 from Debian's redis-server package (the same source the local mode installs from).
ARG BASE_IMAGE=tenantlab/base:local
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && redis-server --version
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
# The same limits as every lab mode (libs/shared/src/redis/redis-limits.ts): the compose file passes them too.
CMD ["redis-server", "--save", "", "--appendonly", "no", "--maxmemory", "192mb", "--maxmemory-policy", "noeviction", "--proto-max-bulk-len", "1048576"]
