# tests/fuzz/fuzz.mk - fuzz targets (included by the Makefile).
#
# Every tests/fuzz/fuzz_NAME.c is built twice:
#   build/bin/fuzz_NAME         with replay.c's main (gcc), part of `make`; `make test`
#                               replays the committed corpus tests/fuzz/corpus/NAME;
#   build/fuzz/bin/engine_NAME  with clang's libFuzzer, ASan and UBSan, by `make fuzz`, which
#                               runs each for FUZZ_SECONDS and prints executions and crashes.
# `make fuzz-seeds` rewrites the starting corpus (one valid input per message kind, typical
# configuration, cluster and domain XML files).

FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_REPLAY  := $(addprefix $(BIN)/,$(FUZZ_NAMES))
FUZZ_LIB_OBJ := $(AGENT_LIB_OBJ) $(SCHEDULER_LIB_OBJ) $(CTL_LIB_OBJ) $(COMMON_OBJ)
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz

.PHONY: fuzz fuzz-engines fuzz-seeds

all: $(FUZZ_REPLAY)

$(BIN)/fuzz_%: $(OBJ)/tests/fuzz/fuzz_%.o $(OBJ)/tests/fuzz/replay.o $(FUZZ_LIB_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_TEST))

$(BIN)/fuzz-seeds: $(OBJ)/tests/fuzz/seeds.o $(FUZZ_LIB_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_TEST))

fuzz-seeds: $(BIN)/fuzz-seeds
	mkdir -p tests/fuzz/corpus
	$(BIN)/fuzz-seeds tests/fuzz/corpus

$(BIN)/engine_%: $(OBJ)/tests/fuzz/%.o $(FUZZ_LIB_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(call pkg_libs,$(PKGS_TEST))

fuzz-engines: $(addprefix $(BIN)/engine_,$(FUZZ_NAMES))

fuzz: deps
	@command -v clang > /dev/null || { \
	  echo "fuzz: installing clang (libFuzzer)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang \
	    > $(or $(TMPDIR),/tmp)/vmsched-apt-clang.log 2>&1 \
	    || { tail -5 $(or $(TMPDIR),/tmp)/vmsched-apt-clang.log; exit 1; }; }
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang OPTFLAGS="-O1 -g" \
	  SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	            -Wno-missing-field-initializers" fuzz-engines
	tests/fuzz/run_fuzz.sh $(FUZZ_BUILD)/bin $(FUZZ_BUILD)/corpus $(FUZZ_SECONDS)
