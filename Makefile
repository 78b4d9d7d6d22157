# recodex-monitor: every entry point an admin or a developer needs.
NODE_MODULES := node_modules/.package-lock.json
SOURCES := $(shell find src spec -name '*.ts' 2>/dev/null)
BUILT := dist/src/cli.js
SPECS = $(shell find dist/spec -name '*.spec.js' | sort)

.PHONY: all install build run demo test unit lint format bench clean deb rpm verify-unit

all: build

install: $(NODE_MODULES)

# npm ci installs exactly the locked versions; the stamp is npm's own and changes with it.
$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build: $(BUILT)

$(BUILT): $(NODE_MODULES) tsconfig.json $(SOURCES)
	npx tsc -p tsconfig.json
	@chmod +x $(BUILT)

run: build
	node $(BUILT) $(ARGS)

# A monitor, a simulated broker and a progress page: open http://127.0.0.1:4568/demo
demo: build
	node $(BUILT) demo $(ARGS)

lint: $(NODE_MODULES)
	npx eslint .
	npx prettier --check .

format: $(NODE_MODULES)
	npx prettier --write .

unit: build
	node --test --test-reporter=spec $(SPECS)

test: lint unit

# Packages land in dist/packages/; both carry the host architecture's native binaries.
VERSION = $(shell node -p "require('./package.json').version")
export RELEASE ?= 1
DEB = dist/packages/recodex-monitor_$(VERSION)-$(RELEASE)_$(shell dpkg --print-architecture).deb
RPM = dist/packages/recodex-monitor-$(VERSION)-$(RELEASE).$(shell uname -m).rpm
PACKAGED := package.json package-lock.json LICENSE $(wildcard README.md) $(wildcard etc/*) \
	$(shell find packaging -type f)

deb: $(DEB)

$(DEB): $(BUILT) $(PACKAGED)
	packaging/deb/build.sh dist/packages

rpm: $(RPM)

$(RPM): $(BUILT) $(PACKAGED)
	packaging/rpm/build.sh dist/packages

# systemd-analyze verify, and the sandbox's exposure score must stay at 1.5 or below.
verify-unit:
	packaging/verify-unit.sh etc/recodex-monitor.service

# The benchmark (a tool, not a test): table on stdout, JSON and SVG in bench-results/.
# Idle connections need a file each, in the bench and in the monitor: lift the soft limit.
bench: build
	ulimit -n $$(ulimit -Hn) && node $(BUILT) bench $(ARGS)

clean:
	rm -rf dist bench-results/*.json spec-artifacts
