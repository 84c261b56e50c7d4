#!/bin/bash
# Writes server.properties from KAFKA_* variables as the apache/kafka image does (KAFKA_NODE_ID -> node.id; `__` in a
# name stands for `_`, `___` for `-`), formats the KRaft storage with CLUSTER_ID once, then runs the broker in the
# foreground. Secrets come as files (Compose secrets), never in a variable:
#   ADMIN_PASSWORD_FILE  holds the admin password, which stands in for @ADMIN_PASSWORD@ in the KAFKA_* values;
#   SCRAM_USER_FILES     `name=file` pairs, space separated: the SCRAM-SHA-512 users the format creates, each with the
#                        password its file holds.
# SCRAM_USERS (`name=password` pairs) is still read, for a compose file generated before secrets became files.
set -euo pipefail
# server.properties may hold the admin password (JAAS settings), the argument file every SCRAM password: owner-only.
umask 077

# The content of a secret file, without surrounding whitespace; exit 78 (EX_CONFIG) naming the variable if unreadable.
secret_of() {
  local variable=$1 file=$2 value
  if ! value=$(tr -d '[:space:]' 2>/dev/null < "$file") || [ -z "$value" ]; then
    echo "$variable: $file cannot be read or is empty" >&2
    exit 78
  fi
  printf '%s' "$value"
}

admin_password=
if [ -n "${ADMIN_PASSWORD_FILE:-}" ]; then
  admin_password=$(secret_of ADMIN_PASSWORD_FILE "$ADMIN_PASSWORD_FILE")
fi
props=/var/lib/kafka/server.properties
: > "$props"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS) continue ;;
    KAFKA_*)
      key=$(echo "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
      if [ -n "$admin_password" ]; then value=${value//@ADMIN_PASSWORD@/"$admin_password"}; fi
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
  for user in ${SCRAM_USER_FILES:-}; do
    case "$user" in
      *=*)
        password=$(secret_of SCRAM_USER_FILES "${user#*=}")
        format+=(--add-scram "SCRAM-SHA-512=[name=${user%%=*},password=$password]")
        ;;
      *) echo "SCRAM_USER_FILES: expected name=file, got a word without '='" >&2 && exit 64 ;;
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
unset SCRAM_USERS SCRAM_USER_FILES ADMIN_PASSWORD_FILE admin_password password
# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options.
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m} -XX:+UseG1GC "${java_args[@]}" kafka.Kafka "$props"
