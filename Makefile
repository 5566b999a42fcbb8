# Samsa's build and test entry points. `make test` is the one command that
# sets up and runs the whole suite (CI runs exactly it).
GO ?= go

.PHONY: build test test-deps vet race full fuzz bench

build:
	$(GO) build -o bin/samsa ./cmd/samsa

# Everything: third-party client deps, vet, unit+integration tests under the
# race detector (short sizes), then the full-size end-to-end and
# compatibility runs without it.
test: test-deps vet race full

test-deps:
	bash compat/install.sh

# Also for Windows and macOS, so platform-specific code (file locks, page
# cache hints) keeps building everywhere users run the one binary.
vet:
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...

race:
	$(GO) test -race -short -count=1 -timeout 20m ./...

full:
	SAMSA_COMPAT_REQUIRED=$${SAMSA_COMPAT_REQUIRED:-1} $(GO) test -count=1 -timeout 20m ./e2e/... ./compat/...
	cd compat/goclients && $(GO) test -count=1 -timeout 10m ./...

# Each fuzz target for FUZZTIME (default 2m). Minimizing each new
# interesting input may take up to a minute by default, during which a
# target runs no new inputs (FuzzParseProperties looked stuck at 681 execs
# in 2 minutes; with 5 s it ran 432,782 in 20 s).
FUZZTIME ?= 2m
FUZZMINIMIZETIME ?= 5s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/storage/ ./internal/record/ ./e2e/
