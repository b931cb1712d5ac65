/*  test_store_crash.c - a SIGKILL at any moment loses no acknowledged write.

    A child process writes batches of VM records as fast as it can and, after each successful
    store_commit, acknowledges the batch number on a pipe (exactly what the scheduler does
    before it answers a peer). The parent kills it with SIGKILL after a random delay, reopens
    the database and checks that every acknowledged batch is complete and no batch is
    partial. Repeated over many rounds on the same file, so recovery after recovery works.
*/
#include "check.h"
#include "log.h"
#include "store.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_ROUNDS        25
#define S_BATCH_SIZE    8

typedef struct {
    int vms;                    // records seen
    int max_batch;              // highest batch number seen
    int batch_sizes [200000];   // records per batch number (bounded by the run length)
} s_census_t;

static void
s_count_vm (void *arg, const vm_record_t *vm)
{
    s_census_t *census = arg;
    int batch = 0, item = 0;
    if (sscanf (vm->name, "b%d-%d", &batch, &item) != 2 || batch < 0 || batch >= 200000)
        return;
    census->vms++;
    census->batch_sizes [batch]++;
    if (batch > census->max_batch)
        census->max_batch = batch;
}

//  The writer: batches numbered from `first`, acknowledged on fd after commit. Never returns.
static void
s_writer (const char *path, int first, int fd)
{
    char err [512];
    store_t *store = store_open (path, err, sizeof err);
    if (!store) {
        fprintf (stderr, "writer: %s\n", err);
        _exit (3);
    }
    for (int batch = first; batch < first + 100000; batch++) {
        for (int item = 0; item < S_BATCH_SIZE; item++) {
            mutation_t put = { .kind = MUTATION_VM_PUT, .at = batch };
            vm_record_t *vm = &put.u.vm_put.vm;
            snprintf (vm->uuid, sizeof vm->uuid, "%08x-0000-0000-0000-%012x", batch, item);
            snprintf (vm->name, sizeof vm->name, "b%d-%d", batch, item);
            snprintf (vm->host_id, sizeof vm->host_id, "11111111-1111-1111-1111-111111111111");
            vm->state = DOMAIN_RUNNING;
            if (store_apply (store, &put))
                _exit (4);
        }
        if (store_commit (store))
            _exit (5);
        if (write (fd, &batch, sizeof batch) != sizeof batch)
            _exit (6);
    }
    _exit (0);
}

int
main (void)
{
    int failures = 0;
    log_init ("test_store_crash", LOG_LEVEL_WARN);
    char dir [] = "/tmp/vmsched-test-crash-XXXXXX";
    CHECK (mkdtemp (dir) != NULL);
    char path [512];
    snprintf (path, sizeof path, "%s/crash.db", dir);
    s_census_t *census = calloc (1, sizeof *census);
    srand ((unsigned) time (NULL));

    int next_batch = 1, acknowledged_total = 0, killed_mid_batch = 0;
    for (int round = 0; round < S_ROUNDS && failures == 0; round++) {
        int pipe_fds [2];
        CHECK (pipe (pipe_fds) == 0);
        pid_t child = fork ();
        if (child == 0) {
            close (pipe_fds [0]);
            s_writer (path, next_batch, pipe_fds [1]);
        }
        close (pipe_fds [1]);
        usleep (20000 + (useconds_t) (rand () % 60000));
        kill (child, SIGKILL);
        int status;
        waitpid (child, &status, 0);
        CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

        int acknowledged = next_batch - 1, batch;
        while (read (pipe_fds [0], &batch, sizeof batch) == sizeof batch)
            acknowledged = batch;
        close (pipe_fds [0]);

        char err [512];
        store_t *store = store_open (path, err, sizeof err);
        CHECK (store);
        if (!store) {
            fprintf (stderr, "  round %d: reopen failed: %s\n", round, err);
            break;
        }
        memset (census, 0, sizeof *census);
        CHECK (store_load_vms (store, s_count_vm, census) == 0);
        store_destroy (&store);

        //  Every acknowledged batch complete; at most one more (committed, not yet
        //  acknowledged when killed); never a partial batch.
        for (int b = 1; b <= acknowledged; b++)
            if (census->batch_sizes [b] != S_BATCH_SIZE) {
                fprintf (stderr, "  round %d: acknowledged batch %d has %d of %d records\n",
                         round, b, census->batch_sizes [b], S_BATCH_SIZE);
                failures++;
                break;
            }
        CHECK (census->max_batch <= acknowledged + 1);
        for (int b = 1; b <= census->max_batch; b++)
            CHECK (census->batch_sizes [b] == 0 || census->batch_sizes [b] == S_BATCH_SIZE);
        killed_mid_batch += census->max_batch == acknowledged + 1;
        acknowledged_total = acknowledged;
        next_batch = census->max_batch + 1;
    }
    CHECK (acknowledged_total > S_ROUNDS);      // the writer really wrote between kills
    printf ("  %d rounds, %d batches acknowledged, %d kills inside a commit (kept, never acknowledged)\n",
            S_ROUNDS, acknowledged_total, killed_mid_batch);
    free (census);
    char command [600];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    CHECK (system (command) == 0);
    return check_report ("store_crash", failures);
}
