# tests/bench/bench.mk - `make bench`: placement latency and throughput, the end-to-end
# comparison with Ganeti's allocator hail, and the balancer against hbal (run_balance.sh)
# (both in Debian package ganeti-htools, installed here when missing: only this target
# needs it); the simulator at scale; HA: failover time on the lab (ha_failover.sh) and the
# lease traffic of 100 agents (lease_traffic.sh). `make bench-ha` runs only the HA part.
# Included at the end of the main Makefile, whose variables (BUILD, OBJ, BIN, CC, LDFLAGS,
# *_OBJ, PKGS_TEST, pkg_libs, PROGRAMS, LAB_TOOLS) it uses. Prints figures; asserts none
# (tests/bench/README has the figures measured here). The HA part needs root and the lab's
# packages: without them it says why and how to fix it and fails.

BENCH_OUT := $(BUILD)/bench

$(BIN)/bench_place: $(OBJ)/tests/bench/bench_place.o $(OBJ)/tests/unit/gen_cluster.o $(SCHEDULER_LIB_OBJ) $(AGENT_LIB_OBJ) \
                    $(CTL_LIB_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_TEST)) -lm

# The same program linked with the engine and jansson only: what one allocator request costs
# end to end without the 70-odd shared libraries every module pulls in (libvirt, zmq, ...).
$(BIN)/bench_place_one: $(OBJ)/tests/bench/bench_place.o $(OBJ)/tests/unit/gen_cluster.o \
                        $(OBJ)/scheduler/core/place.o \
                        $(OBJ)/scheduler/core/cluster_v1.o
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,jansson) -lm

# The cluster generator (tests/unit/gen_cluster.c) on the command line.
$(BIN)/gen_cluster: $(OBJ)/tests/bench/gen_cluster_cli.o $(OBJ)/tests/unit/gen_cluster.o
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ -lm

all: $(BIN)/gen_cluster

bench: deps $(BIN)/bench_place $(BIN)/bench_place_one
	@if ! dpkg-query -W -f='$${Status}\n' ganeti-htools 2>/dev/null | grep -q '^install ok installed'; then \
	  echo "bench: installing ganeti-htools (for hail)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "bench: must run as root to apt-get install ganeti-htools" >&2; exit 1; fi; \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ganeti-htools) \
	    > $(or $(TMPDIR),/tmp)/vmsched-apt-bench.log 2>&1 \
	    || { tail -20 $(or $(TMPDIR),/tmp)/vmsched-apt-bench.log >&2; echo "bench: apt-get failed (log above)" >&2; exit 1; }; \
	fi
	tests/bench/run_bench.sh $(BIN) $(BENCH_OUT)
	@echo
	tests/bench/run_balance.sh $(BIN) $(BENCH_OUT)
	@echo "== simulator: the real scheduler and agent cores and store, 1,000 hosts x 15 vms, one simulated hour"
	$(BIN)/sim_run --scale-real 1000 15 3600
	@echo "== simulator: seeded random fault schedules"
	$(BIN)/sim_run --random-real 1 2000
	@$(BENCH_HA)

bench: $(BIN)/sim_run $(PROGRAMS) $(LAB_TOOLS) $(BIN)/gen_cluster

# The HA figures: both even when the first fails; the recipe fails if either did.
BENCH_HA = rc=0; \
	tests/bench/lease_traffic.sh $(BIN) $(BENCH_OUT) || rc=1; \
	tests/bench/ha_failover.sh $(BIN) $(BENCH_OUT) || rc=1; \
	exit $$rc

bench-ha: deps $(PROGRAMS) $(LAB_TOOLS)
	@$(BENCH_HA)

.PHONY: bench-ha
