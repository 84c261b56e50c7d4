#!/bin/bash
# Writes server.properties from KAFKA_* variables as the apache/kafka image does (KAFKA_NODE_ID -> node.id),
# formats the KRaft storage with CLUSTER_ID once, then runs the broker in the foreground.
set -euo pipefail
props=/var/lib/kafka/server.properties
: > "$props"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS) continue ;;
    KAFKA_*)
      key=$(echo "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | tr '_' '.')
      echo "$key=$value" >> "$props"
      ;;
  esac
done < <(env)
java_args=(-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.xml -cp '/opt/kafka/libs/*')
if [ ! -f "${KAFKA_LOG_DIRS:-/var/lib/kafka/data}/meta.properties" ]; then
  java -Xmx128m "${java_args[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$CLUSTER_ID" -c "$props"
fi
# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options.
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m} -XX:+UseG1GC "${java_args[@]}" kafka.Kafka "$props"
