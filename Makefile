# Candor's build. Tools are installed at pinned versions into ./bin by `go install`,
# so a fresh machine needs nothing but Go and the module proxy.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
export GOBIN := $(BIN)

BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION := v2.33.0

DATA ?= ./candor-data
LISTEN ?= 127.0.0.1:7420
HTTP_LISTEN ?= 127.0.0.1:7421

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/buf:
	$(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/protoc-gen-grpc-gateway:
	$(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(BIN)/protoc-gen-openapiv2:
	$(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)

.PHONY: tools
tools: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2 ## Install the pinned code generators and buf.

.PHONY: build
build: ## Build bin/candord and bin/candor.
	$(GO) build -o $(BIN)/candord ./server
	$(GO) build -o $(BIN)/candor ./client

.PHONY: run
run: build ## Run the server on its embedded bbolt default (./candor-data; gRPC 127.0.0.1:7420, web 127.0.0.1:7421).
	@echo "candord: web app and REST API at http://$(HTTP_LISTEN)/ (sign in with the token in $(DATA)/admin.token); gRPC at $(LISTEN)"
	$(BIN)/candord --data $(DATA) --listen $(LISTEN) --http-listen $(HTTP_LISTEN)

.PHONY: generate
generate: tools ## Regenerate the Go code from proto/.
	$(BIN)/buf format -w
	$(BIN)/buf generate

.PHONY: check-generate
check-generate: generate ## Fail if the committed generated code differs from a fresh generation.
	@test -z "$$(git status --porcelain -- proto)" || { git status --short -- proto; git diff -- proto | head -50; echo "generated code is stale: run make generate and commit"; exit 1; }

.PHONY: lint
lint: tools ## gofmt, go vet and buf lint.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/buf lint

.PHONY: breaking
breaking: tools ## buf breaking against main.
	$(BIN)/buf breaking --against '.git#branch=main'

# axe-core for the browser tests (internal/browsertest), pinned; npm at test time only, never in
# the build or the served app.
AXE_CORE_VERSION := 4.14.1
AXE_JS := $(BIN)/npm/node_modules/axe-core/axe.min.js

$(AXE_JS):
	npm install --no-save --no-audit --no-fund --prefix $(BIN)/npm axe-core@$(AXE_CORE_VERSION)

.PHONY: test-tools
test-tools: $(AXE_JS) ## Install the browser tests' axe-core (npm, pinned) into bin/npm.

.PHONY: test
test: check-generate lint test-tools ## The whole test suite (what CI runs).
	$(GO) test -race -count=1 ./...

.PHONY: bench
bench: ## Load a fresh candord: health-check ceiling, then declarations and ballots over gRPC and over REST; then on a 3-member etcd cluster, 1 and 2 replicas (CONCURRENCY=256 DURATION=10s CLUSTER=1 ...).
	./scripts/bench.sh

.PHONY: bench-go
bench-go: ## Go benchmarks: write path, log, large logs up to 1M entries.
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: crash-test
crash-test: ## SIGKILL candord 20 times under writes; no acknowledged write may be lost.
	$(GO) test -count=1 -run TestCrash ./internal/crashtest/ -v

.PHONY: run-cluster
run-cluster: ## Try Candor on etcd: 3 etcd members and 2 candord replicas on 127.0.0.1 until Ctrl-C (web at :7441 and :7443; data is temporary).
	./scripts/run-cluster.sh

.PHONY: cluster-test
cluster-test: ## 3 etcd members, 2 candord replicas under writes: SIGKILL etcd's leader, then the sequencing replica, then SIGSTOP etcd's leader; nothing lost or applied twice.
	$(GO) test -count=1 -timeout 10m -run '^TestClusterFaults$$' ./internal/clustertest/ -v

.PHONY: fuzz
fuzz: ## Run each fuzz target for a short while.
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s $$pkg || exit 1; \
	  done; \
	done

.PHONY: demo
demo: build ## A scripted session against a fresh server, printed.
	./scripts/demo.sh

.PHONY: clean
clean: ## Remove binaries and the default data folder.
	rm -rf $(BIN)/candord $(BIN)/candor
