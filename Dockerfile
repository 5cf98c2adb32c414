# syntax=docker/dockerfile:1
# tagpulse image: static ingest and aggregate binaries on a small Alpine
# base (kept for busybox wget, which the compose healthchecks use), run as
# an unprivileged user. Build from the repository root:
#   docker build -t tagpulse:dev .

ARG GO_VERSION=1.26.10
ARG ALPINE_VERSION=3.22

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
# Modules first, so a code change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd ./cmd
COPY internal ./internal
ENV CGO_ENABLED=0 GOOS=linux
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/ ./cmd/ingest ./cmd/aggregate

FROM alpine:${ALPINE_VERSION}
RUN apk add --no-cache ca-certificates tzdata \
    && addgroup -S -g 10001 tagpulse \
    && adduser -S -D -H -u 10001 -G tagpulse tagpulse \
    && mkdir -p /var/lib/tagpulse/ingest \
    && chown -R 10001:10001 /var/lib/tagpulse
COPY --from=build /out/ingest /out/aggregate /usr/local/bin/
USER 10001:10001
# ingest metrics and webhook; aggregate API, page and metrics.
EXPOSE 9101 8090 8080
CMD ["aggregate", "--help"]
