# tests/sim/sim.mk - the simulator (included by the Makefile).
#
# build/bin/sim_run runs one scenario directory tests/sim/NAME (README, cluster.json,
# script, expect.log): the real scheduler core and a real store on a virtual clock, with
# scripted agents; `make test` runs every scenario (tests/run's sim suite) and diffs the log.
# SIM_REGEN=1 build/bin/sim_run tests/sim/NAME rewrites expect.log for review.

# `make sim SEEDS=N [FIRST=S]` runs N seeded random schedules from seed S with the real agent
# core, and N random HA fault schedules (make test: 2,000 of those, 2,000 random HA ones and
# 1,000 with scripted agents).

SIM_SRC := $(wildcard tests/sim/*.c)
SEEDS   ?= 10000
FIRST   ?= 1

.PHONY: sim
sim: $(BIN)/sim_run
	$(BIN)/sim_run --random-real $(FIRST) $(SEEDS)
	$(BIN)/sim_run --random-ha $(FIRST) $(SEEDS) -j 2
SIM_OBJ := $(call obj_of,$(SIM_SRC))

all: $(BIN)/sim_run

$(SIM_OBJ): CFLAGS += -Itests/unit -Itests/sim

$(BIN)/sim_run: $(SIM_OBJ) $(OBJ)/tests/unit/fixture_files.o $(SCHEDULER_LIB_OBJ) $(AGENT_LIB_OBJ) \
                 $(COMMON_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_TEST))
