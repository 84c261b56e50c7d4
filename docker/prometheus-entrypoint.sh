#!/bin/bash
# Starts as root only to give the prometheus user owner-only copies of what the lab mounts: the metrics scrape tokens
# (the services' and each tenant's VMs', Compose secrets named metrics-*scrape-token*), the web password (a Compose
# secret, for the health check) and the web configuration (basic auth with the password's bcrypt hash). Mounted files
# keep the host's owner and mode (owner-only, the lab runner's user), which the image's prometheus user could not read.
# Then runs Prometheus as that user; the arguments are Prometheus's own (the compose file passes them).
set -euo pipefail
shopt -s nullglob
umask 077
install -d -o prometheus -g prometheus -m 0700 /run/prometheus
copies=()
# The lab's secret files end in a newline: each copy holds the secret alone. metrics-scrape-token -> scrape-token,
# metrics-vm-scrape-token-<tenant> -> vm-scrape-token-<tenant> (the names the generated configuration reads).
for secret in /run/secrets/metrics-*scrape-token*; do
  name="$(basename "$secret")"
  copy="/run/prometheus/${name#metrics-}"
  tr -d '[:space:]' <"$secret" >"$copy"
  copies+=("$copy")
done
if [ "${#copies[@]}" -eq 0 ]; then
  echo "prometheus-entrypoint: no metrics scrape token is mounted (/run/secrets/metrics-*scrape-token*)" >&2
  exit 1
fi
tr -d '[:space:]' </run/secrets/prometheus-web-password >/run/prometheus/web-password
cp /etc/tenantlab/prometheus/web.yml /run/prometheus/web.yml
copies+=(/run/prometheus/web-password /run/prometheus/web.yml)
chown prometheus:prometheus "${copies[@]}"
chmod 0400 "${copies[@]}"
exec setpriv --reuid=prometheus --regid=prometheus --init-groups /usr/bin/prometheus "$@"
