#!/bin/bash
# Writes server.properties from KAFKA_* variables as the apache/kafka image does (KAFKA_NODE_ID -> node.id; `__` in a
# name stands for `_`, `___` for `-`), formats the KRaft storage with CLUSTER_ID once, then runs the broker in the
# foreground. SCRAM_USERS (`name=password` pairs, space separated) are the SCRAM-SHA-512 users the format creates.
set -euo pipefail
# server.properties may hold the admin password (JAAS settings), the argument file every SCRAM password: owner-only.
umask 077
props=/var/lib/kafka/server.properties
: > "$props"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS) continue ;;
    KAFKA_*)
      key=$(echo "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
      echo "$key=$value" >> "$props"
      ;;
  esac
done < <(env)
java_args=(-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.xml -cp '/opt/kafka/libs/*')
if [ ! -f "${KAFKA_LOG_DIRS:-/var/lib/kafka/data}/meta.properties" ]; then
  format=(kafka.tools.StorageTool format --ignore-formatted -t "$CLUSTER_ID" -c "$props")
  for user in ${SCRAM_USERS:-}; do
    case "$user" in
      *=*) format+=(--add-scram "SCRAM-SHA-512=[name=${user%%=*},password=${user#*=}]") ;;
      *) echo "SCRAM_USERS: expected name=password, got a word without '='" >&2 && exit 64 ;;
    esac
  done
  # The passwords stay off the command line (ps shows it): java reads the main class and its arguments from an
  # owner-only argument file, removed right after.
  args=/var/lib/kafka/format.args
  printf '"%s"\n' "${format[@]}" > "$args"
  status=0
  java -Xmx128m "${java_args[@]}" "@$args" || status=$?
  rm -f "$args"
  [ "$status" -eq 0 ] || exit "$status"
fi
unset SCRAM_USERS
# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options.
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m} -XX:+UseG1GC "${java_args[@]}" kafka.Kafka "$props"
