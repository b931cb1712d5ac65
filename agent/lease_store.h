/*  lease_store.h - what the agent keeps on disk for HA (DESIGN.md §5.3, §5.4).

    Two files in the agent's state directory:
    - `witness-blocks`: the registrations of watched peers this host reported silent
      ("HOST_ID GENERATION" per line). Written whole, to a temporary file that is fsync'd and
      renamed, then the directory is fsync'd: a block is on disk before it is reported, and
      an agent restart (or a host reboot) keeps it, so this host never grants that
      registration again.
    - `lease`: "BOOT_ID CONNECTED_UNTIL" (boot ms on CLOCK_BOOTTIME): how long this process
      may still hold leases. A new agent process of the same boot starts its fencer with it
      (the old process's leases may still run, never longer); after a reboot it is void.
      Written on change without fsync: a crash of the host makes it void anyway.
*/
#ifndef VMSCHED_LEASE_STORE_H
#define VMSCHED_LEASE_STORE_H

#include "lease.h"

#include <stddef.h>
#include <stdint.h>

//  Saves every block of lease (lease_t.blocks) to STATE_DIR/witness-blocks, durably. 0, or
//  -1 with the reason in err (nothing may then be reported).
int lease_store_save_blocks (const char *state_dir, const lease_t *lease, char *err,
                             size_t err_size);

//  Appends the blocks of STATE_DIR/witness-blocks to blocks (lease_block_t, saved). A
//  missing file is no block. 0, or -1 with the reason in err (a file that cannot be read or
//  parsed: the agent must not start, or it could grant a blocked registration).
int lease_store_load_blocks (const char *state_dir, vec_t *blocks, char *err,
                             size_t err_size);

//  Saves / loads STATE_DIR/lease. Loading gives 0 when the file is missing, unreadable or of
//  another boot.
int lease_store_save_until (const char *state_dir, const char *boot_id, int64_t until,
                            char *err, size_t err_size);
int64_t lease_store_load_until (const char *state_dir, const char *boot_id);

#endif
