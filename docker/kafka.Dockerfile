# Apache Kafka (KRaft) on Debian's Java 17: the broker jars the local mode downloads from Maven Central, copied
# into this build's context by `npm run lab -- images`. Configured like the apache/kafka image, from KAFKA_*
# variables (see kafka-entrypoint.sh), so docker-compose.yml is the same for both.
ARG BASE_IMAGE=tenantlab/base:local
FROM ${BASE_IMAGE}
RUN apt-get update \
 && mkdir -p /usr/share/man/man1 \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/kafka appuser \
 && mkdir -p /var/lib/kafka/data && chown -R appuser /var/lib/kafka
COPY libs/ /opt/kafka/libs/
COPY log4j2.xml /opt/kafka/config/log4j2.xml
COPY kafka-entrypoint.sh /opt/kafka/bin/kafka-entrypoint.sh
USER appuser
WORKDIR /var/lib/kafka
VOLUME /var/lib/kafka/data
EXPOSE 9092
CMD ["/opt/kafka/bin/kafka-entrypoint.sh"]
