#!/bin/bash
# The Prometheus container's health check: its own /-/ready answers 200 to the lab's credentials (basic auth, user
# tenantlab, the lab's Prometheus web password; see prometheus.component.ts). The password is read from the owner-only
# copy the entrypoint made, so it is on no command line and in no health check log: only "HTTP/1.0 200" is printed.
set -euo pipefail
exec 3<>/dev/tcp/127.0.0.1/9090
credentials=$(printf 'tenantlab:%s' "$(cat /run/prometheus/web-password)" | base64 -w0)
printf 'GET /-/ready HTTP/1.0\r\nAuthorization: Basic %s\r\n\r\n' "$credentials" >&3
status=$(timeout 2 head -n1 <&3 | tr -d '\r')
echo "$status"
[[ $status == HTTP/1.[01]\ 200* ]]
