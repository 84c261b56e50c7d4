# Jaeger v2 all-in-one (memory storage): the binary the local mode builds with `go install`, copied into this
# build's context by `npm run lab -- images`. wget is there for the health check, as in the official image.
ARG BASE_IMAGE=tenantlab/base:local
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends wget \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system jaeger
COPY jaeger /usr/local/bin/jaeger
USER jaeger
# The built-in all-in-one config listens on JAEGER_LISTEN_HOST (localhost when unset).
ENV JAEGER_LISTEN_HOST=0.0.0.0
EXPOSE 4317 4318 16686 13133
ENTRYPOINT ["/usr/local/bin/jaeger"]
