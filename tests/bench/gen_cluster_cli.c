/*  gen_cluster_cli.c - `gen_cluster HOSTS SEED FILE [--balanced] [--extras]`: writes a
    generated vm-cluster-v1 cluster (tests/unit/gen_cluster.h says what it holds).

    make bench writes its 10, 100, 1,000 and 5,000-host clusters with it; the same arguments
    write the same file.
*/
#include "../unit/gen_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
    gen_cluster_options_t options = { 0, 0, false, false, 0 };
    char *end = NULL, *seed_end = NULL;
    if (argc >= 4) {
        options.hosts = strtoul (argv [1], &end, 10);
        options.seed = strtoull (argv [2], &seed_end, 10);
    }
    bool ok = argc >= 4 && end && !*end && options.hosts > 0 && seed_end && !*seed_end;
    for (int i = 4; ok && i < argc; i++) {
        if (strcmp (argv [i], "--balanced") == 0)
            options.balanced = true;
        else
        if (strcmp (argv [i], "--extras") == 0)
            options.extras = true;
        else
            ok = false;
    }
    if (!ok) {
        fprintf (stderr, "usage: gen_cluster HOSTS SEED FILE [--balanced] [--extras]\n");
        return 2;
    }
    return gen_cluster_write (&options, argv [3], "tests/bench/gen_cluster")? 1: 0;
}
