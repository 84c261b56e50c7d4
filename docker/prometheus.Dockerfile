# Prometheus from Debian's prometheus package (the same source the local mode installs from), for `lab up
# --prometheus` in Docker mode. Its configuration, web configuration and the metrics scrape token are mounted by
# the lab's compose project, never built in; prometheus-entrypoint.sh hands the prometheus user its own copies.
# Left out, to keep the image small (about 60 MB over the base instead of 430): apt's caches, the docs, promtool
# (the server does not use it) and moment-timezone's 212 MB of unpacked zone data (the classic UI loads only
# moment-timezone-with-data.min.js, which stays).
ARG BASE_IMAGE=tenantlab/base:local
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc /usr/share/man /usr/bin/promtool \
    /usr/share/javascript/moment-timezone/data /etc/prometheus/prometheus.yml \
 && prometheus --version
COPY prometheus-entrypoint.sh prometheus-ready.sh /usr/local/bin/
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/prometheus-entrypoint.sh"]
