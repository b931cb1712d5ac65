/*  main.c - clusterctl: the operator's command-line client of vmsched-scheduler.
*/
#include "cli.h"

#include <czmq.h>

int
main (int argc, char **argv)
{
    zsys_init ();
    zsys_set_logstream (NULL);      // czmq's own messages would clutter the output
    zsys_handler_set (NULL);        // Ctrl-C ends clusterctl at once
    int rc = cli_main (argc, argv, stdout, stderr);
    return rc;
}
