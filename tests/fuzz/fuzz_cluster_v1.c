/*  fuzz_cluster_v1.c - the cluster-v1 reader (JSON from operators and exports). */
#include "cluster_v1.h"
#include "fuzz.h"
#include "log.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    log_init ("fuzz", LOG_LEVEL_NONE);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err [1024];
    cluster_v1_t *cluster = cluster_v1_parse ("fuzz.json", (const char *) data, size, err,
                                              sizeof err);
    if (cluster) {
        place_cluster_t *place = cluster_v1_place (cluster);
        char reason [512];
        if (place)
            place_check_rules (place, reason, sizeof reason);
    }
    cluster_v1_destroy (&cluster);
    return 0;
}
