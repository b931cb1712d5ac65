# tests/lab/lab.mk - the lab's own tools (included by the Makefile; part of `make`).
#
# build/bin/lab_copycount  counts every VM's running QEMU copies across the lab hosts from
#                          outside them (tests/lab/copycount.c), for split-brain checks;
# build/bin/lab_watchdog   the stand-in for a host's hardware watchdog: SIGKILLs a lab
#                          host's init when its pet file goes stale (watchdog_standin.c).
# tests/lab/lab.sh drives both (lab_copycount_start, lab_wait_copies, lab_watchdog_start);
# tests/lab/README.md describes them. They need only libc (and common/vec).

LAB_TOOLS := $(BIN)/lab_copycount $(BIN)/lab_watchdog

all: $(LAB_TOOLS)

$(BIN)/lab_copycount: $(OBJ)/tests/lab/copycount.o $(OBJ)/common/vec.o
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^

$(BIN)/lab_watchdog: $(OBJ)/tests/lab/watchdog_standin.o
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^
