# vmnode: `make run` builds and runs preflight on this machine; `make test`
# installs what the tests need and runs them all. See README.md.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || cat VERSION 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/vmnode
GOBIN    := $(shell $(GO) env GOPATH)/bin
# Live runs on lab machines stay off the network; `make run RUN_FLAGS=` lifts it.
RUN_FLAGS ?= --offline
ARGS     ?=

.PHONY: all build run deps test check vet lint race bench fuzz clean demo

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vmnode

# dist/vmnode_<version>_amd64.deb and dist/vmnode-<version>-1.x86_64.rpm (nfpm.yaml,
# packaging/build.sh); the version is VERSION=X.Y.Z when given, else from git tags or ./VERSION.
.PHONY: packages
packages:
	./packaging/build.sh -o dist $(if $(filter command line,$(origin VERSION)),-v $(VERSION))

run: build
	./$(BIN) preflight $(RUN_FLAGS) $(ARGS)

deps:
	./tests/install-deps.sh
	./tests/libvirtd.sh

test: deps
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...

lint: deps
	$(GOBIN)/staticcheck ./...

race: deps
	$(GO) test -count=1 -race ./...

check: vet lint race

bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./tests/bench/preflight -vmnode $(BIN)
	$(GO) run ./tests/bench/packages
	VMNODE_BENCH=1 $(GO) test -count=1 -v -timeout 30m -run TestClusterBench ./tests/bench/cluster/ | grep -Ev '^(=== |--- |PASS|ok |\s+(cluster_test|lab_))' || true
	VMNODE_BENCH=1 $(GO) test -count=1 -v -timeout 30m -run TestVMBench ./tests/bench/vm/ | grep -Ev '^(=== |--- |PASS|ok |\s+(vm_test|lab_))' || true
	VMNODE_BENCH=1 $(GO) test -count=1 -v -timeout 30m -run TestHABench ./tests/bench/ha/ | grep -Ev '^(=== |--- |PASS|ok |\s+(ha_test|lab_))' || true

# A 3-host cluster in network namespaces, driven with the CLI (see README).
demo: deps
	@VMNODE_DEMO=1 $(GO) test -count=1 -v -run TestDemo ./tests/demo/ | grep -Ev '^(=== |--- |PASS|ok |\s+(demo_test|net_linux)\.go)'

# Run every fuzz target for FUZZTIME each.
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin dist
