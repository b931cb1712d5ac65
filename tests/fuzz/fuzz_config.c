/*  fuzz_config.c - the configuration parser with the daemons' key tables (clusterctl's table
    is private to cli.c; the parser is the same code). */
#include "agent.h"
#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

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
    char *text = malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text [size] = 0;
    char err [1024];
    scheduler_config_t scheduler;
    scheduler_config_defaults (&scheduler);
    if (config_parse ("fuzz.conf", text, scheduler_config_keys, &scheduler, err, sizeof err) == 0)
        scheduler_config_check (&scheduler, err, sizeof err);
    agent_config_t agent;
    agent_config_defaults (&agent);
    if (config_parse ("fuzz.conf", text, agent_config_keys, &agent, err, sizeof err) == 0)
        agent_config_check (&agent, err, sizeof err);
    free (text);
    return 0;
}
