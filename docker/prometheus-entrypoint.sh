#!/bin/bash
# Starts as root only to give the prometheus user owner-only copies of what the lab mounts: the two metrics scrape
# tokens (the services' and the VMs', Compose secrets), the web password (a Compose secret, for the health check) and
# the web configuration (basic auth with the password's bcrypt hash). Mounted files keep the host's owner and mode
# (owner-only, the lab runner's user), which the image's prometheus user could not read. Then runs Prometheus as that
# user; the arguments are Prometheus's own (the compose file passes them).
set -euo pipefail
umask 077
install -d -o prometheus -g prometheus -m 0700 /run/prometheus
# The lab's secret files end in a newline: each copy holds the secret alone.
tr -d '[:space:]' </run/secrets/metrics-scrape-token >/run/prometheus/scrape-token
tr -d '[:space:]' </run/secrets/metrics-vm-scrape-token >/run/prometheus/vm-scrape-token
tr -d '[:space:]' </run/secrets/prometheus-web-password >/run/prometheus/web-password
cp /etc/tenantlab/prometheus/web.yml /run/prometheus/web.yml
copies=(/run/prometheus/scrape-token /run/prometheus/vm-scrape-token /run/prometheus/web-password /run/prometheus/web.yml)
chown prometheus:prometheus "${copies[@]}"
chmod 0400 "${copies[@]}"
exec setpriv --reuid=prometheus --regid=prometheus --init-groups /usr/bin/prometheus "$@"
