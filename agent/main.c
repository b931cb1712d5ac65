/*  main.c - vmsched-agent: command line, config, run.

    `vmsched-agent [-c FILE]` runs the agent in the foreground, logging to stderr.
*/
#include "agent.h"
#include "config.h"
#include "keys.h"
#include "log.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define S_DEFAULT_CONFIG "/etc/vmsched/agent.conf"

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: vmsched-agent [-c FILE]\n"
        "       vmsched-agent --keygen FILE | --version | --help\n"
        "\n"
        "Runs the vmsched agent of this host in the foreground, logging to stderr.\n"
        "  -c, --config FILE   configuration (default " S_DEFAULT_CONFIG "; a missing\n"
        "                      default file means built-in defaults)\n"
        "\n"
        "Configuration keys:\n");
    for (const config_key_t *key = agent_config_keys; key->key; key++)
        fprintf (out, "  %-10s %-15s %s\n", key->section, key->key, key->help);
    fprintf (out, "See vmsched-agent(8).\n");
}

//  --keygen FILE: a new key pair, FILE (public) and FILE_secret.
static int
s_keygen (const char *path)
{
    char err [1024];
    if (keys_generate (path, "vmsched-agent", err, sizeof err)) {
        fprintf (stderr, "vmsched-agent: %s\n", err);
        return 1;
    }
    printf ("%s (public, give it to the scheduler's admin) and %s_secret (keep it here, "
            "mode 0600)\n", path, path);
    return 0;
}

int
main (int argc, char **argv)
{
    static const struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "keygen", required_argument, NULL, 'K' },
        { NULL, 0, NULL, 0 }
    };
    const char *config_path = NULL;
    int option;
    while ((option = getopt_long (argc, argv, "c:hV", options, NULL)) != -1) {
        switch (option) {
            case 'c': config_path = optarg; break;
            case 'h': s_usage (stdout); return 0;
            case 'V': printf ("vmsched-agent %s\n", VMSCHED_VERSION); return 0;
            case 'K': return s_keygen (optarg);
            default:  s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "vmsched-agent: unexpected argument '%s'\n", argv [optind]);
        s_usage (stderr);
        return 2;
    }
    agent_config_t config;
    agent_config_defaults (&config);
    char err [1024];
    bool use_file = config_path || access (S_DEFAULT_CONFIG, F_OK) == 0;
    if (use_file && config_load (config_path? config_path: S_DEFAULT_CONFIG,
                                 agent_config_keys, &config, err, sizeof err)) {
        fprintf (stderr, "vmsched-agent: %s\n", err);
        return 1;
    }
    if (agent_config_check (&config, err, sizeof err)) {
        fprintf (stderr, "vmsched-agent: %s\n", err);
        return 1;
    }
    log_level_t level;
    log_level_parse (config.log_level, &level);
    log_init ("vmsched-agent", level);
    zsys_init ();
    zsys_set_logstream (NULL);      // czmq's own messages would bypass our format
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
    int rc = agent_run (agent);
    agent_destroy (&agent);
    return rc;
}
