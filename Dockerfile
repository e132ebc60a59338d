# syntax=docker/dockerfile:1
# The vmpower image: docker build -t REGISTRY/vmpower:0.1.0 .
# Runs as a non-root numeric user (so runAsNonRoot can be verified by the kubelet) and writes only
# to /tmp, which the Helm chart mounts as an emptyDir under a read-only root filesystem.

ARG BUILD_IMAGE=eclipse-temurin:17-jdk
# Debian 12 and OpenJDK 17, as the project is developed and tested; no shell, no package manager.
ARG RUNTIME_IMAGE=gcr.io/distroless/java17-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY . .
# The Maven cache survives between builds; tests run in CI, not here.
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -q -pl webhook -am package -DskipTests -Dspotless.check.skip=true \
 && java -Djarmode=tools -jar webhook/target/vmpower.jar extract --layers --destination /layers

FROM ${RUNTIME_IMAGE}
WORKDIR /app
# Spring Boot's layers, least often changing first, so a code change rebuilds only the last layer.
COPY --from=build --chown=0:0 /layers/dependencies/ /app/
COPY --from=build --chown=0:0 /layers/spring-boot-loader/ /app/
COPY --from=build --chown=0:0 /layers/snapshot-dependencies/ /app/
COPY --from=build --chown=0:0 /layers/application/ /app/
# Files stay owned by root and read-only for the process.
USER 65532:65532
EXPOSE 8443 8080
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75"
ENTRYPOINT ["java", "-jar", "/app/vmpower.jar"]
