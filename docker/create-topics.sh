#!/bin/sh
# One-shot topic creation for docker-compose.yml. The broker has auto-creation off, like most managed clusters,
# so the service's readiness stays red until these exist. Safe to rerun: existing topics are left as they are.
set -eu

: "${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP names the broker to create the topics on}"
: "${TOPICS:?TOPICS is a space-separated list of topic names}"
partitions="${TOPIC_PARTITIONS:-3}"

for topic in $TOPICS; do
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$KAFKA_BOOTSTRAP" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor 1
done

/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$KAFKA_BOOTSTRAP" --list
