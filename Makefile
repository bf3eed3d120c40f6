# spilo-agent - one plain GNU make file. `make` builds build/spilo-agent; `make test` installs what
# is missing (Debian 12 packages, as root) and runs every test; `make demo` runs the agent locally.

# The release is the VERSION file (a CI clone may lack the tags); git adds the revision unless HEAD
# is the release tag v<VERSION>: 0.2.0, or 0.2.0+g1a2b3c4[.dirty] between releases.
RELEASE   := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV   := $(shell git describe --tags --exact-match --match 'v$(RELEASE)' >/dev/null 2>&1 || \
	git rev-parse --short HEAD 2>/dev/null)
GIT_DIRTY := $(if $(GIT_REV),$(shell git diff --quiet HEAD -- 2>/dev/null || echo .dirty))
VERSION   ?= $(RELEASE)$(if $(GIT_REV),+g$(GIT_REV)$(GIT_DIRTY))
BUILD     ?= build
CC        ?= cc
PKGS      := libuv libpq libcurl inih jansson expat yaml-0.1
FIXTURES  ?= $(abspath tests/fixtures)
SANITIZE  ?=

# Debian packages: build, runtime libraries and test tools. `make deps` installs what is missing.
DEB_BUILD := build-essential pkg-config libuv1-dev libpq-dev libcurl4-openssl-dev libinih-dev \
             libjansson-dev libhttp-parser-dev libcmocka-dev libexpat1-dev \
             libyaml-dev
DEB_TEST  := curl jq prometheus postgresql-15 valgrind clang-14 libclang-rt-14-dev python3 \
             python3-croniter awscli nodejs patroni etcd-server etcd-client procps iproute2 \
             openssl yamllint python3-yaml clang-format umoci skopeo wrk
# Installed only when their command is missing (npm with its recommends; kubectl from Debian's
# kubernetes-client unless some kubectl is there).
DEB_NPM   := npm
DEB_KUBECTL := kubernetes-client
# A peer of `make bench` only, installed by it when its command is missing.
DEB_BENCH := prometheus-postgres-exporter
DEB_ALL   := $(DEB_BUILD) $(DEB_TEST)

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla \
             -Wno-format-nonliteral
CFLAGS    ?= -O2 -g
# -iquote: our headers are included with "", so include/yaml.h does not hide libyaml's <yaml.h>.
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SANITIZE) -iquote include -MMD -MP \
             -D_GNU_SOURCE \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -I$(shell pg_config --includedir 2>/dev/null)
LDLIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lm
ALL_LDFLAGS = $(LDFLAGS) $(SANITIZE)

SRCS      := $(sort $(wildcard agent/*.c))
LIB_SRCS  := $(filter-out agent/main.c,$(SRCS))
LIB_OBJS  := $(LIB_SRCS:agent/%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TESTS     := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Small programs the integration tests drive (one module on a real loop, a differential peer).
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOLS     := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all deps check-deps print-debs commands-check modgraph test unit asan integration demo clean format \
        format-check docs docs-check fuzz
all: $(BUILD)/spilo-agent

$(BUILD)/obj/%.o: agent/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The version lives in one object, rebuilt only when VERSION or the revision changes.
$(BUILD)/version.txt: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
$(BUILD)/obj/version.o: $(BUILD)/version.txt
$(BUILD)/obj/version.o: ALL_CFLAGS += -DAGENT_VERSION='"$(VERSION)"'
FORCE:

$(BUILD)/libagent.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/spilo-agent: $(BUILD)/obj/main.o $(BUILD)/libagent.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/harness.h $(BUILD)/libagent.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -DFIXTURES_DIR='"$(FIXTURES)"' -o $@ $< \
	    $(BUILD)/libagent.a $(ALL_LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libagent.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TOOL-CC $<")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libagent.a $(ALL_LDFLAGS) $(LDLIBS)

-include $(LIB_OBJS:.o=.d) $(BUILD)/obj/main.d

# ---- set-up ---------------------------------------------------------------------------------
# Installs the Debian packages that are not there yet (needs root and apt-get).
deps:
	@missing=$$(for p in $(DEB_ALL); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:" $$missing; \
	    if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install: $$missing" >&2; exit 1; fi; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_NPM); }
	@# kubectl (for `kubectl kustomize deploy/`): Debian's kubernetes-client, unless one is there
	@command -v kubectl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_KUBECTL); }

# Every Debian package the Makefile installs, COMMAND=PACKAGE for the ones installed only when
# COMMAND is missing (tests/deploy/commands_check.py reads it).
print-debs:
	@echo $(DEB_ALL) npm=$(DEB_NPM) kubectl=$(DEB_KUBECTL) prometheus-postgres-exporter=$(DEB_BENCH)

check-deps:
	@$(MAKE) --no-print-directory deps

# ---- tests ----------------------------------------------------------------------------------
unit: $(TESTS)
	@tests/run-unit.sh $(TESTS)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan CC=clang-14 CFLAGS='-O1 -g -fno-omit-frame-pointer' \
	    SANITIZE='-fsanitize=address,undefined -fno-sanitize-recover=all' unit

integration: $(BUILD)/spilo-agent $(TOOLS)
	@TOOLS_DIR=$(abspath $(BUILD)/tools) tests/integration/run.sh $(BUILD)/spilo-agent

# Every command make test/demo/bench runs comes from a package `make deps` installs; the negative
# control shows the check would catch a missing one (clang-format, which a fresh Debian 12 lacked).
commands-check:
	@python3 tests/deploy/commands_check.py
	@out=$$(python3 tests/deploy/commands_check.py --without clang-format); \
	if echo "$$out" | grep -q 'add clang-format to'; then echo "commands: negative control ok"; \
	else echo "$$out"; echo "commands-check: did not notice clang-format missing" >&2; exit 1; fi

# The module graph has no cycle: between objects (nm: who uses whose symbols) and between headers.
modgraph: $(BUILD)/spilo-agent
	@python3 tests/deploy/modgraph.py $(BUILD)/obj

docs-check: $(BUILD)/spilo-agent
	@tests/docs-check.sh $(BUILD)/spilo-agent
	@python3 tests/deploy/design_check.py $(BUILD)/obj

docs: $(BUILD)/spilo-agent
	@tests/docs-check.sh $(BUILD)/spilo-agent --fix

test: check-deps
	$(Q)$(MAKE) --no-print-directory commands-check
	$(Q)$(MAKE) --no-print-directory -j2 all $(TESTS) $(TOOLS)
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory modgraph
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory asan
	$(Q)$(MAKE) --no-print-directory docs-check
	$(Q)$(MAKE) --no-print-directory integration

# The OCI image, built here without a registry (container/build-image.sh; docs/image.md):
# $(BUILD)/spilo-agent-<version>.oci.tar, pushed with skopeo copy oci-archive:... docker://...
IMAGE_SOURCE ?= https://spilo-agent.example.org
IMAGE     = $(BUILD)/spilo-agent-$(subst +,-,$(VERSION)).oci.tar
.PHONY: image
image: check-deps $(BUILD)/spilo-agent
	@container/build-image.sh $(BUILD)/spilo-agent '$(VERSION)' "$$(git rev-parse HEAD 2>/dev/null)" '$(IMAGE_SOURCE)' $(IMAGE)

demo: check-deps all
	@tests/demo.sh $(BUILD)/spilo-agent

# The agent against its peers (postgres-exporter, Patroni, aws) on this machine: about ten minutes,
# not part of `make test`. Knobs and results: docs/performance.md; the table lands in $(BUILD)/bench/.
.PHONY: bench
bench: check-deps $(BUILD)/spilo-agent
	@command -v prometheus-postgres-exporter >/dev/null || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_BENCH); }
	@tests/bench/bench.sh $(BUILD)/spilo-agent

# ---- fuzzing (libFuzzer, clang-14) -----------------------------------------------------------
FUZZ_SECONDS ?= 30
FUZZERS   := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c
	$(Q)$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang-14 CFLAGS='-O1 -g' \
	    SANITIZE='-fsanitize=fuzzer-no-link,address,undefined' build-fuzz/libagent.a
	@echo "  FUZZ-CC $<"
	$(Q)clang-14 -std=gnu11 -O1 -g -iquote include -D_GNU_SOURCE $(FUZZ_FLAGS) \
	    $(shell pkg-config --cflags $(PKGS)) -I$(shell pg_config --includedir) -o $@ $< \
	    build-fuzz/libagent.a $(LDLIBS)

# Runs every fuzzer for FUZZ_SECONDS on a copy of its seed corpus; a crash stops with its input.
fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do n=$${f#build-fuzz/fuzz_}; mkdir -p build-fuzz/corpus/$$n; \
	    cp -r tests/fuzz/corpus/$$n/. build-fuzz/corpus/$$n/ 2>/dev/null; \
	    echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build-fuzz/$$n- \
	        build-fuzz/corpus/$$n >build-fuzz/$$n.log 2>&1 || { tail -30 build-fuzz/$$n.log; exit 1; }; \
	    grep -E '^Done [0-9]+ runs' build-fuzz/$$n.log | tail -1; done

format:
	clang-format -i agent/*.c include/*.h tests/unit/*.c tests/unit/*.h

format-check:
	@out=$$(clang-format --dry-run agent/*.c include/*.h tests/unit/*.c tests/unit/*.h 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; echo "format-check: run 'make format'" >&2; exit 1; fi; \
	echo "format-check: ok"

clean:
	rm -rf build build-asan build-fuzz
