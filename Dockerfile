# syntax=docker/dockerfile:1
# The vmpower image: docker build -t REGISTRY/vmpower:0.1.0 .
# Runs as a non-root numeric user (so runAsNonRoot can be verified by the kubelet) and writes only
# to /tmp, which the Helm chart mounts as an emptyDir under a read-only root filesystem. Starts from
# the extracted jar with a class data sharing (CDS) archive made at build time: about 45 % less
# time from start to ready than `java -jar` (BENCHMARKS.md, "Start-up").

ARG BUILD_IMAGE=eclipse-temurin:17-jdk
# Debian 12 and OpenJDK 17, as the project is developed and tested; no shell, no package manager.
ARG RUNTIME_IMAGE=gcr.io/distroless/java17-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY . .
# The Maven cache survives between builds; tests run in CI, not here.
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -q -pl webhook -am package -DskipTests -Dspotless.check.skip=true

# A CDS archive only serves the JVM build that created it: any other JVM ignores it (with one
# warning) and starts slowly. So it is made with the runtime image's own JDK, in a stage that is
# the runtime image plus a static busybox for the script's shell; neither the build stage's JDK
# (Temurin) nor Debian's openjdk-17 package of the day is guaranteed to be the same build.
FROM ${RUNTIME_IMAGE} AS cds
USER 0:0
COPY --from=busybox:1.37-musl /bin/busybox /busybox/busybox
RUN ["/busybox/busybox", "--install", "-s", "/busybox"]
ENV PATH="${PATH}:/busybox"
COPY --from=build /src/webhook/target/vmpower.jar /src/webhook/src/main/docker/prepare-cds.sh /build/
# The same script as the benchmark: extracts the jar into Spring Boot's layers (/layers) and
# merged into /app, the path the files have at run time (the archive records it), then a training
# run (no cluster needed; writes to /app and /tmp only) creates /app/vmpower.jsa. -Xmx keeps
# compressed oops on, as at run time, whatever the build machine's memory.
RUN ["/busybox/sh", "/build/prepare-cds.sh", "/build/vmpower.jar", "/app", "/layers", "-Xmx256m"]

FROM ${RUNTIME_IMAGE}
WORKDIR /app
# Spring Boot's layers, least often changing first, so a code change rebuilds only the last ones.
COPY --from=cds --chown=0:0 /layers/dependencies/ /app/
COPY --from=cds --chown=0:0 /layers/spring-boot-loader/ /app/
COPY --from=cds --chown=0:0 /layers/snapshot-dependencies/ /app/
COPY --from=cds --chown=0:0 /layers/application/ /app/
COPY --from=cds --chown=0:0 /app/vmpower.jsa /app/
# Fails the build when this JVM cannot use the archive with these files (it checks the jar files'
# sizes and modification times; COPY keeps them, an export that rewrites timestamps would not).
RUN ["java", "-Xshare:on", "-XX:SharedArchiveFile=/app/vmpower.jsa", "-XX:-UsePerfData", "-jar", "/app/vmpower.jar", "help"]
# Files stay owned by root and read-only for the process.
USER 65532:65532
EXPOSE 8443 8080
# The same JVM flags as the chart's default: heap at most half of the memory limit.
ENV JAVA_TOOL_OPTIONS="-XX:+UseSerialGC -XX:MaxRAMPercentage=50 -XX:MaxMetaspaceSize=96m -XX:ReservedCodeCacheSize=64m -Xss512k -XX:+ExitOnOutOfMemoryError"
ENTRYPOINT ["java", "-XX:SharedArchiveFile=/app/vmpower.jsa", "-jar", "/app/vmpower.jar"]
