/*  test_lease.c - the agent's leases and witness duties (agent/lease.c), and what it keeps
    on disk (agent/lease_store.c).
*/
#include "check.h"
#include "fixture_files.h"
#include "lease.h"
#include "lease_store.h"

#include <stdlib.h>
#include <unistd.h>

#define S_H     500
#define S_L     2000
#define S_D     7000

static const char *s_ids [] = {
    "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004",
};

static wire_witness_peer_t
s_peer (int index, uint64_t generation)
{
    wire_witness_peer_t peer;
    memset (&peer, 0, sizeof peer);
    snprintf (peer.host_id, sizeof peer.host_id, "%s", s_ids [index]);
    snprintf (peer.name, sizeof peer.name, "h%d", index + 1);
    snprintf (peer.endpoint, sizeof peer.endpoint, "tcp://10.0.0.%d:7110", index + 1);
    snprintf (peer.public_key, sizeof peer.public_key, "%040d", index);
    peer.generation = generation;
    return peer;
}

//  Host 0's config: witnesses and watched peers are hosts 1..count.
static wire_lease_config_t
s_config (uint64_t version, int count, uint64_t generation)
{
    wire_lease_config_t config;
    memset (&config, 0, sizeof config);
    config.version = version;
    config.renew_ms = S_H, config.lease_ms = S_L, config.dead_after_ms = S_D;
    for (int i = 1; i <= count; i++) {
        config.witnesses [config.witness_count++] = s_peer (i, generation);
        config.watched [config.watched_count++] = s_peer (i, generation);
    }
    return config;
}

//  The leader lease alone keeps a host connected, measured from the send time.
static int
s_case_leader_lease (void)
{
    int failures = 0;
    lease_t lease;
    lease_init (&lease, 0);
    CHECK (!lease_connected (&lease, 1));
    lease_sent (&lease.leader, 1, 1000);
    //  A grant that arrives late still counts from the send: 1000 + L.
    CHECK (lease_granted (&lease.leader, 1, S_L));
    CHECK (lease_connected_until (&lease) == 1000 + S_L);
    CHECK (lease_connected (&lease, 2999) && !lease_connected (&lease, 3000));
    CHECK (!lease_granted (&lease.leader, 1, S_L));     // a duplicate changes nothing
    CHECK (!lease_granted (&lease.leader, 99, S_L));    // never asked for
    lease_free (&lease);
    //  A restarted agent gets what its predecessor may still hold, not more.
    lease_init (&lease, 4321);
    CHECK (lease_connected_until (&lease) == 4321);
    lease_free (&lease);
    return failures;
}

//  Without the leader, a majority of the witnesses' leases keeps the host connected.
static int
s_case_witness_majority (void)
{
    int failures = 0;
    lease_t lease;
    lease_init (&lease, 0);
    wire_lease_config_t config = s_config (1, 3, 1);
    lease_configure (&lease, &config, 0);
    CHECK (lease.witness_count == 3);
    //  Two of three grant: until the earlier of those two.
    lease_sent (&lease.witnesses [0], 10, 1000);
    lease_sent (&lease.witnesses [1], 11, 1200);
    CHECK (lease_granted (lease_witness (&lease, s_ids [1]), 10, S_L));
    CHECK (!lease_connected (&lease, 1001));            // one of three is no majority
    CHECK (lease_granted (lease_witness (&lease, s_ids [2]), 11, S_L));
    CHECK (lease_connected_until (&lease) == 1000 + S_L);
    //  The leader lease counts on its own.
    lease_sent (&lease.leader, 12, 2500);
    CHECK (lease_granted (&lease.leader, 12, S_L));
    CHECK (lease_connected_until (&lease) == 2500 + S_L);
    //  A new config that keeps a witness keeps its lease.
    config = s_config (2, 3, 1);
    lease_configure (&lease, &config, 3000);
    CHECK (lease_witness (&lease, s_ids [1])->until == 1000 + S_L);
    lease_free (&lease);
    return failures;
}

//  A witness grants only while connected itself, never a blocked registration, and blocks
//  a peer silent for D: saved before it is reported, newer registrations not blocked.
static int
s_case_witness_duties (void)
{
    int failures = 0;
    char why [WIRE_TEXT_SIZE];
    lease_t lease;
    lease_init (&lease, 0);
    wire_lease_config_t config = s_config (1, 2, 3);
    lease_configure (&lease, &config, 0);
    CHECK (!lease_may_grant (&lease, s_ids [1], 3, 100, why, sizeof why));
    CHECK (strstr (why, "holds no lease"));
    lease_sent (&lease.leader, 1, 100);
    CHECK (lease_granted (&lease.leader, 1, 60000));
    CHECK (lease_may_grant (&lease, s_ids [1], 3, 200, why, sizeof why));
    CHECK (!lease_may_grant (&lease, s_ids [3], 1, 200, why, sizeof why));     // not watched
    CHECK (!lease_may_grant (&lease, s_ids [1], 2, 200, why, sizeof why));     // older
    //  Peer 2 is heard last at 0 (assigned), peer 1 at 200: peer 2 is blocked at D.
    CHECK (lease_check_silence (&lease, S_D - 1) == 0);
    CHECK (lease_check_silence (&lease, S_D) == 1);
    wire_witness_report_t report;
    lease_silent_report (&lease, S_D, &report);
    //  Not on disk yet: peer 2 is not reported blocked; peer 1 (silent 6800 ms) is reported
    //  silent, not blocked.
    CHECK (report.count == 1 && strcmp (report.silent [0].host_id, s_ids [1]) == 0
           && !report.silent [0].blocked);
    lease_blocks_saved (&lease);
    lease_silent_report (&lease, S_D, &report);
    CHECK (report.count == 2);
    bool blocked_reported = false;
    for (uint32_t i = 0; i < report.count; i++)
        blocked_reported |= strcmp (report.silent [i].host_id, s_ids [2]) == 0
                         && report.silent [i].blocked && report.silent [i].generation == 3;
    CHECK (blocked_reported);
    CHECK (!lease_may_grant (&lease, s_ids [2], 3, S_D + 1, why, sizeof why));
    CHECK (strstr (why, "reported silent"));
    //  Its next registration is granted; the block of the old one goes with a new config.
    CHECK (lease_may_grant (&lease, s_ids [2], 4, S_D + 2, why, sizeof why));
    config = s_config (2, 2, 4);
    lease_configure (&lease, &config, S_D + 3);
    CHECK (lease.blocks.count == 0);
    lease_free (&lease);
    return failures;
}

//  Blocks survive a restart through the state directory; the lease file is per boot.
static int
s_case_store (void)
{
    int failures = 0;
    char dir [] = "/tmp/vmsched-lease-test-XXXXXX", err [512];
    CHECK (mkdtemp (dir) != NULL);
    lease_t lease;
    lease_init (&lease, 0);
    CHECK (lease_load_block (&lease, s_ids [1], 7) == 0);
    CHECK (lease_load_block (&lease, s_ids [2], 9) == 0);
    CHECK (lease_store_save_blocks (dir, &lease, err, sizeof err) == 0);
    lease_free (&lease);
    vec_t blocks = VEC_OF (lease_block_t);
    CHECK (lease_store_load_blocks (dir, &blocks, err, sizeof err) == 0);
    CHECK (blocks.count == 2);
    if (blocks.count == 2) {
        const lease_block_t *second = vec_at (&blocks, 1);
        CHECK (strcmp (second->host_id, s_ids [2]) == 0 && second->generation == 9
               && second->saved);
    }
    vec_free (&blocks);
    char path [128];
    snprintf (path, sizeof path, "%s/witness-blocks", dir);
    CHECK (fixture_files_write (path, "not a block\n") == 0);
    CHECK (lease_store_load_blocks (dir, &blocks, err, sizeof err) == -1);
    CHECK (strstr (err, "line 1") && strstr (err, "will not start"));
    vec_free (&blocks);
    CHECK (lease_store_save_until (dir, "boot-a", 12345, err, sizeof err) == 0);
    CHECK (lease_store_load_until (dir, "boot-a") == 12345);
    CHECK (lease_store_load_until (dir, "boot-b") == 0);     // another boot: void
    unlink (path);
    snprintf (path, sizeof path, "%s/lease", dir);
    unlink (path);
    CHECK (lease_store_load_until (dir, "boot-a") == 0);
    rmdir (dir);
    return failures;
}

int
main (int argc, char **argv)
{
    static const check_case_t cases [] = {
        { "leader_lease", s_case_leader_lease },
        { "witness_majority", s_case_witness_majority },
        { "witness_duties", s_case_witness_duties },
        { "store", s_case_store },
    };
    return CHECK_RUN_ALL ("lease", cases, argc, argv)? 1: 0;
}
