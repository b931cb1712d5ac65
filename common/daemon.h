/*  daemon.h - what every vmsched daemon does before it runs: its command line
    (-c FILE, --keygen FILE, --help, --version), loading and checking its configuration,
    logging and czmq set-up.

    One function, so that vmsched-scheduler and vmsched-agent behave alike: a missing default
    file means built-in defaults, a bad file or value stops the program with exit 1 and a
    message naming the file and line, bad usage exits 2.
*/
#ifndef VMSCHED_DAEMON_H
#define VMSCHED_DAEMON_H

#include "config.h"

#include <stddef.h>

typedef struct {
    const char *program;            // "vmsched-agent"
    const char *purpose;            // one line for --help
    const char *default_config;     // "/etc/vmsched/agent.conf"
    const config_key_t *keys;       // the configuration's keys
    void *config;                   // the program's configuration, defaults already set
    const char *log_level;          // the configuration's log_level field (read after loading)
    int (*check) (const void *config, char *err, size_t err_size);  // relations between keys
    char *config_path;              // gets the path of the file read ("" for built-in
    size_t config_path_size;        // defaults), before check; NULL: not wanted
} daemon_t;

//  Parse the command line, load and check the configuration (telling config_path which
//  file it was, for sections its owner reads in a second pass), set up logging and czmq.
//  Returns -1 when the daemon should run now, or the exit status when it is done (help,
//  version, keygen, or an error already reported on stderr).
int daemon_start (const daemon_t *daemon, int argc, char **argv);

#endif
