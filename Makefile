# mattersim — see README.md. Every target works on a fresh checkout.
GO        ?= go
FUZZTIME  ?= 10m
SMOKETIME ?= 10s
BENCHTIME ?= 1s
PKGS      := ./...

.PHONY: all build test check vet fmt-check unit fuzz fuzz-smoke bench interop clean

all: build

build:
	$(GO) build $(PKGS)

## test: everything CI runs: format, vet, unit tests, a short fuzz of every target, interop.
test: fmt-check vet unit fuzz-smoke interop

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

## fuzz-smoke: every Fuzz target for $(SMOKETIME); fuzz: the same for $(FUZZTIME).
fuzz-smoke:
	@scripts/fuzz.sh $(SMOKETIME)

fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

## interop: live tests against matter.js inside network namespaces (skips without root or Node).
interop:
	@scripts/interop.sh

clean:
	$(GO) clean -testcache
