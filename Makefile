# facelambda: two set-up commands for a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
# HTTP functions (with events/<name>/) and every Lambda function.
FUNCTIONS := session face match enroll liveness
LAMBDAS := $(FUNCTIONS) webhook
SHARED ?= ../shared
ADDR ?= 127.0.0.1:3000
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags="-s -w"

.PHONY: all run test test-setup deps e2e-deps layers web web-static build vet staticcheck unit lint-template localaws localaws-stop opt setup-local invoke invoke-events calibrate calibrate-liveness eval eval-passive-loso eval-detect bench load fuzz clean

all: build

## deps: what the build needs. Go and a C compiler must be there; libjpeg-turbo
## (cgo, linked statically) is installed with apt-get (through sudo when not root).
## TURBOJPEG_INCLUDE/TURBOJPEG_LIB: where to look for turbojpeg.h and libturbojpeg.a.
GO_VERSION := $(shell sed -n 's/^go //p' go.mod)
TURBOJPEG_INCLUDE ?= /usr/include
TURBOJPEG_LIB ?= /usr/lib/x86_64-linux-gnu
TURBOJPEG_FILES = $(TURBOJPEG_INCLUDE)/turbojpeg.h $(TURBOJPEG_LIB)/libturbojpeg.a
deps:
	@command -v $(GO) >/dev/null || { echo "deps: Go $(GO_VERSION) or later is required (go.mod): https://go.dev/dl/"; exit 1; }
	@cc=$$($(GO) env CC); command -v "$$cc" >/dev/null || { echo "deps: a C compiler ($$cc) is required for cgo: apt-get install gcc"; exit 1; }
	@for f in $(TURBOJPEG_FILES); do [ -f "$$f" ] && continue; \
		echo "deps: $$f is missing: installing libturbojpeg0-dev"; \
		scripts/apt-install.sh libturbojpeg0-dev || exit 1; \
		for f in $(TURBOJPEG_FILES); do [ -f "$$f" ] || { echo "deps: $$f is still missing after installing libturbojpeg0-dev (set TURBOJPEG_INCLUDE/TURBOJPEG_LIB)"; exit 1; }; done; \
		break; \
	done

## e2e-deps: what the browser test (TestBrowserLiveness) needs: Chromium and
## ffmpeg from Debian, installed with apt-get (through sudo when not root) only
## when missing. A browser the test takes instead (FACELAMBDA_CHROMIUM,
## chromium-browser, google-chrome) or FACELAMBDA_FFMPEG counts as there.
## Without them the test skips (go test on a dev machine).
e2e-deps:
	@missing=; \
	{ [ -n "$$FACELAMBDA_CHROMIUM" ] || command -v chromium || command -v chromium-browser || command -v google-chrome; } >/dev/null || missing=" chromium"; \
	{ [ -n "$$FACELAMBDA_FFMPEG" ] || command -v ffmpeg; } >/dev/null || missing="$$missing ffmpeg"; \
	[ -z "$$missing" ] && exit 0; \
	echo "e2e-deps:$$missing missing: installing (the browser test needs them)"; \
	scripts/apt-install.sh $$missing || exit 1; \
	for c in $$missing; do command -v $$c >/dev/null || { echo "e2e-deps: $$c is still missing after apt-get install $$c"; exit 1; }; done

## layers: ONNX Runtime and the face models from their npm packages, checked against the manifest.
layers: layers/runtime/lib/libonnxruntime.so.1
layers/runtime/lib/libonnxruntime.so.1: layers/fetch.sh layers/models/manifest.json $(wildcard layers/minifasnet/*)
	./layers/fetch.sh
	@touch $@

## web: the browser liveness client (web/src/*.ts -> web/dist/liveness.js, embedded by the
## Go package web) with the esbuild pinned in go.mod: no npm.
web:
	@scripts/web-build.sh web/dist

## web-static: the page, its style and module as a folder of static files ($(WEB_STATIC)),
## to serve from a bucket or CDN instead of the API (docs/web-liveness.md).
WEB_STATIC ?= bin/web
web-static: web
	@mkdir -p $(WEB_STATIC)
	cp web/liveness.html web/liveness.css web/dist/liveness.js $(WEB_STATIC)/

build: deps layers web
	@mkdir -p bin
	@echo "build bin/facelambda (CLI)"
	@$(GO) build -o bin/facelambda ./cmd/facelambda
	@for f in $(LAMBDAS); do \
		echo "build bin/$$f/bootstrap"; \
		mkdir -p bin/$$f; \
		CGO_ENABLED=1 GOOS=linux GOARCH=amd64 $(GO) build $(GOFLAGS_LAMBDA) -o bin/$$f/bootstrap ./functions/$$f || exit 1; \
	done

## run: serve every function's API on $(ADDR) with the real models.
run: build
	./bin/facelambda serve --addr $(ADDR)

## test: everything the tests need, then all tests (the tools that cannot be installed from here are checked first).
test: localaws lint-template build vet staticcheck test-setup e2e-deps unit invoke-events

## test-setup: the install steps above on the paths where the thing is missing (fakes, no network).
test-setup: layers
	scripts/test-setup.sh

## localaws: DynamoDB Local and an S3 server (moto) for the tests, in the background.
# FACELAMBDA_TOOLS_DIR: where scripts/localaws keeps DynamoDB Local and the servers' state.
export FACELAMBDA_TOOLS_DIR ?= $(CURDIR)/.tools
LOCALAWS_ENV := $(FACELAMBDA_TOOLS_DIR)/localaws/env
localaws:
	scripts/localaws/start.sh >/dev/null

localaws-stop:
	scripts/localaws/stop.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

## staticcheck: the pinned staticcheck (installed into .tools/bin when missing or of another version) over every package.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(CURDIR)/.tools/bin/staticcheck
staticcheck:
	@$(STATICCHECK) -version 2>/dev/null | grep -qF '($(STATICCHECK_VERSION:v%=%))' || \
		GOBIN=$(CURDIR)/.tools/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(STATICCHECK) ./...

unit: localaws
	set -a && . $(LOCALAWS_ENV) && set +a && $(GO) test -count=1 -timeout 20m ./...

lint-template:
	@command -v cfn-lint >/dev/null || { echo "lint-template: cfn-lint is required and is not in Debian: pip install cfn-lint (PyPI)"; exit 1; }
	cfn-lint template.yaml functions/liveness-gpu/template.yaml

# The layers laid out as Lambda mounts them under /opt.
OPT := .tools/opt
opt: layers
	@mkdir -p $(OPT)/lib $(OPT)/models
	@ln -sf $(CURDIR)/layers/runtime/lib/libonnxruntime.so.1 $(OPT)/lib/libonnxruntime.so.1
	@for f in layers/models/*.onnx layers/models/manifest.json; do ln -sf $(CURDIR)/$$f $(OPT)/models/; done

# What a function sees in Lambda, pointed at the local servers.
LAMBDA_ENV = set -a && . $(LOCALAWS_ENV) && set +a && \
	FACELAMBDA_MODEL_DIR=$(CURDIR)/$(OPT)/models FACELAMBDA_ORT_LIBRARY=$(CURDIR)/$(OPT)/lib/libonnxruntime.so.1 \
	FACELAMBDA_TABLE=facelambda-local FACELAMBDA_BUCKET=facelambda-local \
	FACELAMBDA_DYNAMODB_ENDPOINT=$$FACELAMBDA_TEST_DYNAMODB_ENDPOINT FACELAMBDA_S3_ENDPOINT=$$FACELAMBDA_TEST_S3_ENDPOINT \
	FACELAMBDA_SIGNING_KEY_FILE=$(CURDIR)/.tools/localaws/signing-key.pem FACELAMBDA_TEMPLATE_KEY_FILE=$(CURDIR)/.tools/localaws/template-master.key FACELAMBDA_WEBHOOK_KEY_FILE=$(CURDIR)/.tools/localaws/webhook.key \
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1

setup-local: build localaws
	set -a && . $(LOCALAWS_ENV) && set +a && ./bin/facelambda setup-local \
		--dynamodb $$FACELAMBDA_TEST_DYNAMODB_ENDPOINT --s3 $$FACELAMBDA_TEST_S3_ENDPOINT >/dev/null

## invoke FN=<function> EVENT=<file>: run the function's bootstrap on one event, as sam local invoke does.
invoke: build opt setup-local
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=face EVENT=events/face/create-multipart.json"; exit 1; }
	$(LAMBDA_ENV) ./bin/facelambda invoke --binary bin/$(FN)/bootstrap --event $(EVENT)

## invoke-events: every function's bootstrap on each of its events.
invoke-events: build opt setup-local
	@for f in $(FUNCTIONS); do for e in events/$$f/*.json; do \
		echo "invoke $$f $$e"; \
		$(LAMBDA_ENV) ./bin/facelambda invoke --binary bin/$$f/bootstrap --event $$e --expect-status >/dev/null || exit 1; \
	done; done

## calibrate: rebuild the committed score/FAR table from LFW impostor pairs.
calibrate: build
	./bin/facelambda calibrate --root $(SHARED)/data/lfw/lfw-deepfunneled

## calibrate-liveness: rebuild the committed passive liveness levels from every passive source
## (pad/, pad-replay/, active/ frames); it prints the fusion weights the manifest should carry.
calibrate-liveness: build
	./bin/facelambda calibrate liveness --data $(SHARED)/data

## eval-passive-loso: passive liveness, leave-one-source-out (calibrate without each source, measure on it).
eval-passive-loso: build
	./bin/facelambda eval passive-loso --data $(SHARED)/data

eval: build
	./bin/facelambda eval verify --root $(SHARED)/data/lfw --pairs $(SHARED)/data/lfw/pairs.tsv

eval-detect: build
	./bin/facelambda eval detect --root $(SHARED)/data/detection --labels $(SHARED)/data/detection/labels.tsv

bench: build
	./bin/facelambda bench

## load: load-test a running `make run` server (KEY=<api key>).
load: build
	./bin/facelambda load --key "$(KEY)" --concurrency 4 --duration 30s

## fuzz: every fuzz target of the module, FUZZTIME each (default 30s).
fuzz:
	scripts/fuzz.sh

# SAM builds (BuildMethod: makefile): sam build calls these with ARTIFACTS_DIR.
build-SessionFunction build-FaceFunction build-MatchFunction build-EnrollFunction build-LivenessFunction build-WebhookFunction: deps
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap \
		./functions/$(shell echo $(@:build-%Function=%) | tr A-Z a-z)
# The liveness function embeds the web client (package web).
build-LivenessFunction: web

build-OnnxRuntimeLayer: layers
	mkdir -p $(ARTIFACTS_DIR)/lib
	cp layers/runtime/lib/libonnxruntime.so.1 $(ARTIFACTS_DIR)/lib/

build-ModelsLayer: layers
	mkdir -p $(ARTIFACTS_DIR)/models
	cp layers/models/*.onnx layers/models/manifest.json layers/models/NOTICE layers/models/LICENSE.* $(ARTIFACTS_DIR)/models/

clean:
	rm -rf bin .aws-sam
