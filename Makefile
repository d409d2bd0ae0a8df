# Reviewhub — build, run, test.
GO            ?= go
BIN           := bin
PLUGINS       := appstore googleplay rustore appgallery omnidesk zendesk slack telegram libretranslate deepl
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.10
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
BUF                := github.com/bufbuild/buf/cmd/buf@v1.57.2
STATICCHECK        := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packaging tools (make release, image, deb, package-test), from the Go
# module proxy: nothing is downloaded as a prebuilt binary.
HELM               := helm.sh/helm/v3/cmd/helm@v3.22.1
KUBECONFORM        := github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
NFPM               := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
TOOLS         := $(CURDIR)/.tools
# The Go modules of this tree: the hub (with the plugins) and the plugin SDK
# (sdk/go.mod). `go test ./...` does not enter a nested module, so vet,
# staticcheck, unit and fuzz run in each.
MODULES       := . sdk

.PHONY: all build run demo bench bench-scale bench-reviews test vet staticcheck unit fuzz soak proto clean console-deps console-screenshots \
	release release-arch image deb package-test package-tools

all: build

# The hub, and every first-party plugin in one binary (reviewhub-plugins)
# with a link hub-plugin-NAME to it per plugin: the hub starts each link as
# a plugin process of its own (docs/architecture.md, "Plugins in one binary").
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/hub ./hub/cmd/hub
	$(GO) build -o $(BIN)/reviewhub-plugins ./plugins/cmd/reviewhub-plugins
	@for p in $(PLUGINS); do ln -sfn reviewhub-plugins $(BIN)/hub-plugin-$$p || exit 1; done

run: build
	@mkdir -p data
	$(BIN)/hub serve --config hub/config/example.yaml

# The hub, its plugins and the project's fake App Store, Google Play,
# RuStore, Huawei AppGallery and helpdesk on loopback, with a stream of reviews (README: Demo).
# The helpdesk: omnidesk or zendesk (make demo HELPDESK=zendesk); the hub's
# and the fake helpdesk page's addresses: make demo HUB=127.0.0.1:18080 UI=127.0.0.1:18090.
HELPDESK ?= omnidesk
HUB      ?= 127.0.0.1:8080
UI       ?= 127.0.0.1:8090
demo: build
	$(GO) build -o $(BIN)/demo ./hub/cmd/demo
	$(BIN)/demo --bin $(BIN) --helpdesk $(HELPDESK) --hub $(HUB) --ui $(UI)

# The benchmark: the full hub with real plugin processes against a direct
# baseline on the same workload, then the real-world mode (a backlog against
# a helpdesk answering in 100 ms ± 20 ms with 300 calls a minute; about 7
# minutes; BENCH_LOAD_REVIEWS=0 skips it); figures in bench-results/figures.json.
BENCH_REVIEWS ?= 10000
BENCH_REPLIES ?= 500
BENCH_LOAD_REVIEWS ?= 2000
# The hub runs a second time on PostgreSQL, in a schema of its own, printed
# beside SQLite (BENCH_POSTGRES= skips it).
BENCH_POSTGRES ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
# ... and again with this many hub processes on one schema (1: not).
BENCH_POSTGRES_HUBS ?= 3
bench: build
	$(GO) build -o $(BIN)/bench ./hub/cmd/bench
	$(BIN)/bench --bin $(BIN) -n $(BENCH_REVIEWS) -m $(BENCH_REPLIES) -load-n $(BENCH_LOAD_REVIEWS) -postgres '$(BENCH_POSTGRES)' -postgres-hubs $(BENCH_POSTGRES_HUBS)

# How many apps one hub carries: 10,000 apps on the fake Google Play;
# figures in bench-results/scale.json (docs/performance.md).
SCALE_APPS     ?= 10000
SCALE_INTERVAL ?= 5m
SCALE_MEASURE  ?= 5m
bench-scale: build
	$(GO) build -o $(BIN)/benchscale ./hub/cmd/benchscale
	$(BIN)/benchscale --bin $(BIN) -apps $(SCALE_APPS) -interval $(SCALE_INTERVAL) -measure $(SCALE_MEASURE)

test: vet staticcheck unit fuzz

vet:
	@for m in $(MODULES); do echo "go vet ($$m)"; (cd $$m && $(GO) vet ./...) || exit 1; done

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install $(STATICCHECK)

staticcheck: $(TOOLS)/staticcheck
	@for m in $(MODULES); do echo "staticcheck ($$m)"; (cd $$m && $(TOOLS)/staticcheck ./...) || exit 1; done

unit:
	@for m in $(MODULES); do echo "go test ($$m)"; (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done

# The console's browser test (in `make unit`) needs playwright-core here and
# Chromium at /usr/bin/chromium; without them it is skipped (not with CI=true).
console-deps:
	cd hub/console/browsertest && npm ci --no-audit --no-fund

# Runs the browser test and writes the console's screenshots into docs/console/.
console-screenshots: console-deps
	CONSOLE_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test -count=1 -run 'InBrowser$$' ./hub/console/

# The crash soak: SIGKILL the hub many times while 10,000 reviews and 1,000
# replies flow, on SQLite and on PostgreSQL; reports lost / duplicated
# counts, which must be zero.
soak:
	REVIEWHUB_SOAK_REVIEWS=10000 REVIEWHUB_SOAK_REPLIES=1000 REVIEWHUB_SOAK_KILLS=30 \
		$(GO) test -count=1 -v -timeout 30m -run 'TestHubKilledAtRandomPoints|TestThreeHubsOneKilledAtRandomOnPostgres' ./hub/e2e/

# The Reviews pages' benchmark (docs/performance.md): BENCH_REVIEWS_N reviews
# written once through the poller's path into bench-results/reviews.db (about
# 15 minutes for a million on 2 busy cores) and reused by later runs, then
# filtered and searched pages rendered by the console's handler, p50/p95 in
# bench-results/reviews.json. BENCH_REVIEWS_POSTGRES=URL measures PostgreSQL
# too (the reviews written into it when it has none: use a database of its own).
BENCH_REVIEWS_N ?= 1000000
BENCH_REVIEWS_POSTGRES ?=
bench-reviews:
	$(GO) build -o $(BIN)/benchreviews ./hub/cmd/benchreviews
	$(BIN)/benchreviews -n $(BENCH_REVIEWS_N) -postgres '$(BENCH_REVIEWS_POSTGRES)'

# Every fuzz target for FUZZTIME each (brief in `make test`; longer by hand).
FUZZTIME ?= 1s
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh $(MODULES)

# Regenerate the committed protobuf code with pinned tool versions.
proto:
	GOBIN=$(TOOLS) $(GO) install $(PROTOC_GEN_GO)
	GOBIN=$(TOOLS) $(GO) install $(PROTOC_GEN_GO_GRPC)
	GOBIN=$(TOOLS) $(GO) install $(BUF)
	cd sdk && PATH=$(TOOLS):$$PATH $(TOOLS)/buf generate

# Release artifacts (README: Install). VERSION defaults to `git describe`.
# podman and buildah read deploy/podman/containers.conf (runc, no default
# ulimits: what the CI machines' sandbox needs); nothing on the machine is changed.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
DIST      := dist
ARCH      ?= amd64
export CONTAINERS_CONF ?= $(CURDIR)/deploy/podman/containers.conf
RELEASE_DIR = $(DIST)/reviewhub_$(VERSION)_linux_$(ARCH)

# Static binaries of the hub and every plugin for linux/amd64 and
# linux/arm64 (cgo through gcc-aarch64-linux-gnu), tarballs and SHA256SUMS in dist/.
release:
	VERSION=$(VERSION) OUT=$(DIST) ./scripts/release.sh

# The release folder of ARCH, built again unless it was built from the
# sources as they are now (scripts/source-stamp.sh): make image and make deb
# never package stale binaries.
release-arch:
	@scripts/source-stamp.sh check $(RELEASE_DIR) 2>/dev/null || VERSION=$(VERSION) OUT=$(DIST) ./scripts/release.sh $(ARCH)

# The OCI image reviewhub:VERSION (and :latest), FROM scratch, built offline with buildah.
image: release-arch
	./scripts/image.sh $(RELEASE_DIR) reviewhub:$(VERSION)
	podman tag reviewhub:$(VERSION) reviewhub:latest

# The Debian package dist/reviewhub_VERSION_ARCH.deb (nfpm).
deb: release-arch $(TOOLS)/nfpm
	NFPM=$(TOOLS)/nfpm ./scripts/deb.sh $(RELEASE_DIR)

$(TOOLS)/helm:
	GOBIN=$(TOOLS) $(GO) install $(HELM)
$(TOOLS)/kubeconform:
	GOBIN=$(TOOLS) $(GO) install $(KUBECONFORM)
$(TOOLS)/nfpm:
	GOBIN=$(TOOLS) $(GO) install $(NFPM)
package-tools: $(TOOLS)/helm $(TOOLS)/kubeconform $(TOOLS)/nfpm

# Builds every artifact and tests it as an operator would use it (needs
# root, podman, buildah, gcc-aarch64-linux-gnu, PostgreSQL; .ci/run
# installs them): scripts/package-test.sh.
package-test: package-tools
	VERSION=$(VERSION) TOOLS=$(TOOLS) ./scripts/package-test.sh

clean:
	rm -rf $(BIN) $(DIST)
