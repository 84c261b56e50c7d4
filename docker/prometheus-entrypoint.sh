#!/bin/bash
# Starts as root only to give the prometheus user owner-only copies of what the lab mounts: the metrics scrape token
# (a Compose secret) and the web configuration (basic auth with the token's bcrypt hash). Mounted files keep the
# host's owner and mode (owner-only, the lab runner's user), which the image's prometheus user could not read. Then
# runs Prometheus as that user; the arguments are Prometheus's own (the compose file passes them).
set -euo pipefail
umask 077
install -d -o prometheus -g prometheus -m 0700 /run/prometheus
# The lab's secret file ends in a newline: the copy holds the token alone.
tr -d '[:space:]' </run/secrets/metrics-scrape-token >/run/prometheus/scrape-token
cp /etc/tenantlab/prometheus/web.yml /run/prometheus/web.yml
chown prometheus:prometheus /run/prometheus/scrape-token /run/prometheus/web.yml
chmod 0400 /run/prometheus/scrape-token /run/prometheus/web.yml
exec setpriv --reuid=prometheus --regid=prometheus --init-groups /usr/bin/prometheus "$@"
