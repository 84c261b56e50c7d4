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
CMD ["redis-server", "--save", "", "--appendonly", "no"]
