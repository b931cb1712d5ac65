/*  main.c - vmsched-agent: command line, config, run.

    `vmsched-agent [-c FILE]` runs the agent in the foreground, logging to stderr.
*/
#include "agent.h"
#include "daemon.h"
#include "log.h"

static int
s_check (const void *config, char *err, size_t err_size)
{
    return agent_config_check (config, err, err_size);
}

int
main (int argc, char **argv)
{
    agent_config_t config;
    agent_config_defaults (&config);
    daemon_t daemon = {
        "vmsched-agent", "Runs the vmsched agent of this host in the foreground",
        "/etc/vmsched/agent.conf", agent_config_keys, &config, config.log_level, s_check,
        NULL, 0 };
    int rc = daemon_start (&daemon, argc, argv);
    if (rc >= 0)
        return rc;
    char err [1024];
    hv_t *hv = hv_libvirt_new (config.libvirt_uri);
    if (!hv) {
        log_error ("cannot start: out of memory");
        return 1;
    }
    agent_t *agent = agent_new (&config, &hv, err, sizeof err);
    if (!agent) {
        log_error ("cannot start: %s", err);
        return 1;
    }
    rc = agent_run (agent);
    agent_destroy (&agent);
    return rc;
}
