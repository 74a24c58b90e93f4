#!/bin/sh
# Provisions Apache Kafka (KRaft) from Maven Central jars into the shared cache:
# $CACHE/kafka-<version>/libs/*.jar plus a log4j2 config. Idempotent: a finished
# install is marked with a stamp file and skipped.
set -e
. "$(dirname "$0")/../../scripts/env.sh"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
LOG4J_VERSION="${LOG4J_VERSION:-2.24.3}"
dest="$CACHE_DIR/kafka-$KAFKA_VERSION"
[ -f "$dest/.complete" ] && { echo "$dest"; exit 0; }
command -v mvn >/dev/null || { echo "provision-kafka: Maven (mvn) is required" >&2; exit 1; }
command -v java >/dev/null || { echo "provision-kafka: a JDK (java) is required" >&2; exit 1; }
echo "provision-kafka: fetching Kafka $KAFKA_VERSION jars into $dest (first run only)" >&2
work="$dest.partial"
rm -rf "$work"; mkdir -p "$work/libs"
cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.rockset-sink-operator</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/libs" >&2
# kafka-tools drags in a second slf4j binding on some versions; keep log4j's only.
rm -f "$work"/libs/slf4j-reload4j-*.jar "$work"/libs/slf4j-simple-*.jar
cat > "$work/log4j2.properties" <<'L4J'
status = error
appender.console.type = Console
appender.console.name = STDERR
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
logger.kafka.name = kafka.server.KafkaServer
logger.kafka.level = INFO
L4J
touch "$work/.complete"
rm -rf "$dest"; mv "$work" "$dest"
echo "$dest"
