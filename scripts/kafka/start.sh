#!/usr/bin/env bash
# Starts a single-node Kafka broker (KRaft, broker + controller in one process) on loopback
# for development, tests and CI. The broker jars are resolved from Maven Central once
# (scripts/kafka/pom.xml) into a cache folder; storage is formatted on first use of a data
# folder, so a restart on the same folder keeps every record.
#
#   scripts/kafka/start.sh                 # background, data in a new temp folder, waits until ready
#   scripts/kafka/start.sh --foreground    # exec's the JVM: the caller's child *is* the broker
#
# Settings (environment):
#   LOOKOUT_KAFKA_PORT        client listener port (default 9092); the controller uses PORT+1
#   LOOKOUT_KAFKA_DATA        data folder (default: a new temporary folder)
#   LOOKOUT_KAFKA_VERSION     broker version (default: the one in pom.xml)
#   LOOKOUT_KAFKA_CACHE       where the jars go (default ~/.cache/lookout/kafka-VERSION)
#   LOOKOUT_KAFKA_HEAP        JVM heap (default 512m: the broker shares two cores and the tests)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
foreground=false
[ "${1:-}" = "--foreground" ] && foreground=true

version="${LOOKOUT_KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")}"
cache="${LOOKOUT_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lookout/kafka-$version}"
port="${LOOKOUT_KAFKA_PORT:-9092}"
controller_port=$((port + 1))
data="${LOOKOUT_KAFKA_DATA:-$(mktemp -d -t lookout-kafka.XXXXXX)}"
heap="${LOOKOUT_KAFKA_HEAP:-512m}"

# A half-finished download must not pass for a cache: the marker is written last.
if [ ! -f "$cache/.complete" ]; then
  echo "resolving Kafka $version broker jars into $cache" >&2
  rm -rf "$cache/lib"
  mkdir -p "$cache"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -Dkafka.version="$version" \
    -DincludeScope=runtime -DoutputDirectory="$cache/lib" >&2
  touch "$cache/.complete"
fi

mkdir -p "$data/logs"
cat >"$data/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data/logs
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# One node: a record is durable when it is in this broker's page cache and log; acks=all
# waits for the (single) in-sync replica. Flushing per message would hide nothing here.
min.insync.replicas=1
EOF
cat >"$data/log4j2.properties" <<EOF
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
EOF

classpath="$cache/lib/*"
java_opts=(-Xms128m "-Xmx$heap" -XX:+UseSerialGC -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$data/log4j2.properties")
if [ ! -f "$data/logs/meta.properties" ]; then
  cluster_id="$(java -cp "$classpath" "${java_opts[@]}" kafka.tools.StorageTool random-uuid)"
  java -cp "$classpath" "${java_opts[@]}" kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$data/server.properties" >&2
fi

if $foreground; then
  exec java -cp "$classpath" "${java_opts[@]}" kafka.Kafka "$data/server.properties"
fi

setsid java -cp "$classpath" "${java_opts[@]}" kafka.Kafka "$data/server.properties" \
  >"$data/broker.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$data/broker.pid"
for _ in $(seq 1 240); do
  if grep -q "Kafka Server started" "$data/broker.log" 2>/dev/null; then
    echo "kafka $version ready on 127.0.0.1:$port (pid $pid, data $data)"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "kafka broker exited during startup; its log:" >&2
    cat "$data/broker.log" >&2
    exit 1
  fi
  sleep 0.25
done
echo "kafka broker not ready after 60 s; its log:" >&2
tail -n 50 "$data/broker.log" >&2
exit 1
