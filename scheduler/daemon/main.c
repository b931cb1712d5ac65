/*  main.c - vmsched-scheduler: command line, config, run.

    `vmsched-scheduler [-c FILE]` runs the daemon in the foreground, logging to stderr. The
    file's [fence NAME] sections are read by scheduler_new (config_file says which file).
    `vmsched-scheduler plan ...` is the offline balancing planner (plan_cmd.c).
*/
#include "daemon.h"
#include "log.h"
#include "plan_cmd.h"
#include "scheduler.h"

#include <string.h>

static int
s_check (const void *config, char *err, size_t err_size)
{
    return scheduler_config_check (config, err, err_size);
}

int
main (int argc, char **argv)
{
    if (argc > 1 && strcmp (argv [1], "plan") == 0)
        return plan_cmd_main (argc - 1, argv + 1);
    scheduler_config_t config;
    scheduler_config_defaults (&config);
    daemon_t daemon = {
        "vmsched-scheduler", "Runs the vmsched scheduler in the foreground",
        "/etc/vmsched/scheduler.conf", scheduler_config_keys, &config, config.log_level,
        s_check, config.config_file, sizeof config.config_file };
    int rc = daemon_start (&daemon, argc, argv);
    if (rc >= 0)
        return rc;
    char err [1024];
    scheduler_t *scheduler = scheduler_new (&config, err, sizeof err);
    if (!scheduler) {
        log_error ("cannot start: %s", err);
        return 1;
    }
    rc = scheduler_run (scheduler);
    scheduler_destroy (&scheduler);
    return rc;
}
