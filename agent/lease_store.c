/*  lease_store.c - what the agent keeps on disk for HA (see lease_store.h).
*/
#include "lease_store.h"
#include "state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_BLOCKS "witness-blocks"
#define S_LEASE  "lease"

int
lease_store_save_blocks (const char *state_dir, const lease_t *lease, char *err,
                         size_t err_size)
{
    size_t size = lease->blocks.count * (WIRE_ID_SIZE + 24) + 1;
    char *text = calloc (1, size);
    if (!text) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    size_t used = 0;
    for (size_t i = 0; i < lease->blocks.count; i++) {
        const lease_block_t *block = vec_at (&lease->blocks, i);
        used += (size_t) snprintf (text + used, size - used, "%s %" PRIu64 "\n",
                                   block->host_id, block->generation);
    }
    int rc = state_file_write (state_dir, S_BLOCKS, text, true, err, err_size);
    free (text);
    return rc;
}

int
lease_store_load_blocks (const char *state_dir, vec_t *blocks, char *err, size_t err_size)
{
    char path [1100];
    snprintf (path, sizeof path, "%s/%s", state_dir, S_BLOCKS);
    FILE *file = fopen (path, "r");
    if (!file) {
        if (errno == ENOENT)
            return 0;
        snprintf (err, err_size, "cannot read '%s': %s", path, strerror (errno));
        return -1;
    }
    char line [256];
    int number = 0, rc = 0;
    while (rc == 0 && fgets (line, sizeof line, file)) {
        number++;
        lease_block_t block = { .saved = true };
        char id [64] = "", rest = 0;
        if (sscanf (line, "%63s %" SCNu64 " %c", id, &block.generation, &rest) != 2
        ||  !wire_uuid_valid (id) || block.generation == 0) {
            snprintf (err, err_size, "'%s' line %d is not 'HOST_ID GENERATION'; the agent "
                      "will not start without its witness blocks (restore the file, or "
                      "remove it only if no host it lists can still run vms)", path, number);
            rc = -1;
            break;
        }
        snprintf (block.host_id, sizeof block.host_id, "%s", id);
        if (!vec_push (blocks, &block)) {
            snprintf (err, err_size, "out of memory");
            rc = -1;
        }
    }
    fclose (file);
    return rc;
}

int
lease_store_save_until (const char *state_dir, const char *boot_id, int64_t until,
                        char *err, size_t err_size)
{
    char text [128];
    snprintf (text, sizeof text, "%s %" PRId64 "\n", boot_id [0]? boot_id: "-", until);
    return state_file_write (state_dir, S_LEASE, text, false, err, err_size);
}

int64_t
lease_store_load_until (const char *state_dir, const char *boot_id)
{
    char path [1100], line [160], boot [64] = "";
    snprintf (path, sizeof path, "%s/%s", state_dir, S_LEASE);
    FILE *file = fopen (path, "r");
    if (!file)
        return 0;
    int64_t until = 0;
    bool read = fgets (line, sizeof line, file)
             && sscanf (line, "%63s %" SCNd64, boot, &until) == 2;
    fclose (file);
    return read && boot_id [0] && strcmp (boot, boot_id) == 0 && until > 0? until: 0;
}
