# vmsched - cluster-wide VM placement and failover scheduler for libvirt/KVM hosts.
#
# make            build vmsched-scheduler, vmsched-agent and clusterctl into build/bin
# make test       install build dependencies, build, run every test (static, unit, sim,
#                 model (SPIN, quick bounds), fuzz corpus replay, integration, lab)
# make model      the SPIN model of the HA lease protocol with its full bounds (minutes)
# make demo       install, build, run a scheduler + three agents on libvirt's test driver
# make check      test + asan + valgrind
# make fuzz       libFuzzer runs of every decoder (FUZZ_SECONDS each); make bench: figures
# See README.md for the rest (install, clean, asan, valgrind, demo-stop).

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc
OPTFLAGS ?= -O2 -g
SANFLAGS ?=
VERSION  := 0.1.0

PKGS_COMMON    := libczmq libzmq libprotobuf-c inih
PKGS_AGENT     := $(PKGS_COMMON) libvirt libxml-2.0
PKGS_SCHEDULER := $(PKGS_COMMON) sqlite3 jansson libxml-2.0
PKGS_CTL       := $(PKGS_COMMON) jansson
PKGS_TEST      := $(PKGS_COMMON) sqlite3 jansson libvirt libxml-2.0

pkg_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
# (with libm: load.c's exp, the balancer's standard deviations)
pkg_libs   = $(shell pkg-config --libs $(1) 2>/dev/null) -lm

GEN      := $(BUILD)/gen
OBJ      := $(BUILD)/obj
BIN      := $(BUILD)/bin
CFLAGS   := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -DVMSCHED_VERSION='"$(VERSION)"' \
            $(OPTFLAGS) $(SANFLAGS) -I$(GEN) -Icommon -Iagent -Ischeduler/core -Ischeduler/daemon -Ischeduler/ctl -Iclusterctl \
            $(call pkg_cflags,$(PKGS_TEST))
LDFLAGS  += $(SANFLAGS) -pthread

# Debian packages: building, the lab (real libvirtd + QEMU), test tooling.
DEBS := build-essential pkg-config libzmq3-dev libczmq-dev libvirt-dev libsqlite3-dev \
        libprotobuf-c-dev protobuf-c-compiler libjansson-dev libxml2-dev libinih-dev \
        libmicrohttpd-dev sqlite3 jq procps iproute2 nftables util-linux \
        libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils \
        valgrind spin

COMMON_SRC    := common/log.c common/clock.c common/config.c common/wire.c common/keys.c common/vec.c \
                 common/daemon.c common/zap.c
AGENT_SRC     := $(wildcard agent/*.c)
SCHEDULER_SRC := $(wildcard scheduler/core/*.c scheduler/daemon/*.c scheduler/ctl/*.c)
CTL_SRC       := $(wildcard clusterctl/*.c)
UNIT_SRC      := $(wildcard tests/unit/test_*.c)
UNIT_HELP_SRC := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))   # shared by the tests

PROTO_C  := $(GEN)/vmsched.pb-c.c
PROTO_H  := $(GEN)/vmsched.pb-c.h
obj_of    = $(patsubst %.c,$(OBJ)/%.o,$(1))

COMMON_OBJ    := $(call obj_of,$(COMMON_SRC)) $(OBJ)/gen/vmsched.pb-c.o
AGENT_OBJ     := $(call obj_of,$(AGENT_SRC))
SCHEDULER_OBJ := $(call obj_of,$(SCHEDULER_SRC))
CTL_OBJ       := $(call obj_of,$(CTL_SRC))

# Library modules of each program (everything but the file holding main) for unit tests.
AGENT_LIB_OBJ     := $(filter-out $(OBJ)/agent/main.o,$(AGENT_OBJ))
SCHEDULER_LIB_OBJ := $(filter-out $(OBJ)/scheduler/daemon/main.o,$(SCHEDULER_OBJ))
CTL_LIB_OBJ       := $(filter-out $(OBJ)/clusterctl/main.o,$(CTL_OBJ))

PROGRAMS := $(BIN)/vmsched-scheduler $(BIN)/vmsched-agent $(BIN)/clusterctl
TESTBINS := $(patsubst tests/unit/%.c,$(BIN)/%,$(UNIT_SRC))

.PHONY: all test check demo demo-stop deps install uninstall clean asan valgrind fuzz bench model
.DELETE_ON_ERROR:

all: $(PROGRAMS) $(TESTBINS)

$(PROTO_C) $(PROTO_H): proto/vmsched.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -Iproto $<

$(OBJ)/gen/vmsched.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror,$(CFLAGS)) -c $< -o $@

$(OBJ)/%.o: %.c $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BIN)/vmsched-agent: $(AGENT_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_AGENT))

$(BIN)/vmsched-scheduler: $(SCHEDULER_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_SCHEDULER))

$(BIN)/clusterctl: $(CTL_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_CTL))

# One binary per tests/unit/test_MODULE.c, linked with every program's modules and the tests'
# shared helpers (the other tests/unit/*.c).
$(BIN)/test_%: $(OBJ)/tests/unit/test_%.o $(call obj_of,$(UNIT_HELP_SRC)) $(AGENT_LIB_OBJ) \
               $(SCHEDULER_LIB_OBJ) $(CTL_LIB_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_TEST))

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

include tests/fuzz/fuzz.mk
include tests/sim/sim.mk
include tests/lab/lab.mk

# ---------------------------------------------------------------------------------------
# Dependencies: installs only what is missing, so it is quick when everything is there.

deps:
	@missing=$$(for p in $(DEBS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: must run as root to apt-get install:" $$missing >&2; exit 1; fi; \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing) \
	    > $(or $(TMPDIR),/tmp)/vmsched-apt.log 2>&1 \
	    || { tail -20 $(or $(TMPDIR),/tmp)/vmsched-apt.log >&2; echo "deps: apt-get failed (log above)" >&2; exit 1; }; \
	else echo "deps: all build and test packages are installed"; fi

# ---------------------------------------------------------------------------------------
# Tests: tests/run prints one PASS/FAIL line per test and ends with "N passed, M failed".

test: deps
	$(MAKE) all
	tests/run $(BIN)

check: test asan valgrind

# The SPIN model of the HA lease protocol (tests/model/README.md), full bounds.
model: deps
	bash tests/model/run_model.sh full

asan:
	$(MAKE) BUILD=build/asan OPTFLAGS="-O1 -g" SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" all
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  tests/run build/asan/bin unit integration

valgrind: all
	VMSCHED_VALGRIND=1 tests/run $(BIN) unit fuzz

# ---------------------------------------------------------------------------------------
# Demo: a scheduler and three agents on libvirt's test driver, left running.

demo: deps
	$(MAKE) all
	tests/demo.sh start $(BIN) $(BUILD)/demo

demo-stop:
	tests/demo.sh stop $(BIN) $(BUILD)/demo

# ---------------------------------------------------------------------------------------
# Install: binaries, systemd units, man pages, example configs.

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BIN)/clusterctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(BIN)/vmsched-scheduler $(BIN)/vmsched-agent $(DESTDIR)$(PREFIX)/sbin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 docs/clusterctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 docs/vmsched-agent.8 docs/vmsched-scheduler.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -d $(DESTDIR)/lib/systemd/system
	for unit in vmsched-scheduler vmsched-agent; do \
	  sed 's|@SBINDIR@|$(PREFIX)/sbin|g' docs/systemd/$$unit.service.in \
	    > $(DESTDIR)/lib/systemd/system/$$unit.service; \
	  chmod 0644 $(DESTDIR)/lib/systemd/system/$$unit.service; done
	install -d $(DESTDIR)/etc/vmsched
	for conf in scheduler agent clusterctl; do \
	  [ -e $(DESTDIR)/etc/vmsched/$$conf.conf ] || \
	    install -m 0644 docs/examples/$$conf.conf $(DESTDIR)/etc/vmsched/$$conf.conf; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/clusterctl $(DESTDIR)$(PREFIX)/sbin/vmsched-scheduler \
	      $(DESTDIR)$(PREFIX)/sbin/vmsched-agent $(DESTDIR)$(PREFIX)/share/man/man1/clusterctl.1 \
	      $(DESTDIR)$(PREFIX)/share/man/man8/vmsched-agent.8 \
	      $(DESTDIR)$(PREFIX)/share/man/man8/vmsched-scheduler.8 \
	      $(DESTDIR)/lib/systemd/system/vmsched-scheduler.service \
	      $(DESTDIR)/lib/systemd/system/vmsched-agent.service

clean:
	rm -rf build
include tests/bench/bench.mk
