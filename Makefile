# tagpulse — the two commands of the quick start are `make run` and `make test`.
# Every target works on a fresh Debian/Ubuntu machine with Go, Java 17 and
# Maven: scripts/stack installs and starts the rest.

GO        ?= go
# go.mod asks for the patched toolchain (toolchain line); Debian-style Go
# installs default to GOTOOLCHAIN=local, which would ignore it.
export GOTOOLCHAIN = auto
BIN       := bin
GOFLAGS   ?=
# Integration tests of several packages share one broker and one ClickHouse
# on a 2-core machine: a few packages at a time keeps timeouts honest.
TEST_P    ?= 2
TEST_TIMEOUT ?= 20m

.PHONY: all build run test test-unit bench lint vet fmt-check vulncheck stack-up stack-down stack-status clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/ingest ./cmd/aggregate

# Which ClickHouse of the stack `make run` uses: 18 (Debian's 18.16, the
# default) or 26 (ClickHouse 26.9, the clickhouse26 service).
TAGPULSE_CLICKHOUSE ?= 18

## run: start the stack, build, publish the demo set (TAGPULSE_DEMO=0: without) and the bundled sample posts and serve trends (TAGPULSE_CLICKHOUSE=18|26)
run: stack-up build
	TAGPULSE_CLICKHOUSE=$(TAGPULSE_CLICKHOUSE) scripts/run-local

## test: start the stack, vet, and run every test (unit, integration, deployment checks; the ClickHouse ones on 18.16 and 26.9), then govulncheck
test: stack-up lint
	scripts/test
	scripts/vulncheck

## test-unit: only the tests that need no service (not what CI runs)
test-unit:
	TAGPULSE_SKIP_INTEGRATION=1 $(GO) test -count=1 ./...

## bench: Go micro-benchmarks of the hot paths (see BENCHMARKS.md)
bench:
	GO=$(GO) scripts/bench

## lint: gofmt, go vet, then staticcheck and shellcheck at pinned versions (scripts/lint)
lint: fmt-check vet
	GO=$(GO) scripts/lint

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.stack/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Nested modules, which ./... does not enter.
SUBMODULES := internal/testkit/deploycheck

vet:
	$(GO) vet ./...
	for m in $(SUBMODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

vulncheck:
	scripts/vulncheck

stack-up:
	scripts/stack up

stack-down:
	scripts/stack down

stack-status:
	scripts/stack status

clean:
	rm -rf $(BIN)
