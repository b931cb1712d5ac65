/*  daemon.c - the shared start of vmsched's daemons (see daemon.h). Owns nothing. */
#include "daemon.h"
#include "keys.h"
#include "log.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

static void
s_usage (const daemon_t *daemon, FILE *out)
{
    fprintf (out,
        "usage: %s [-c FILE]\n"
        "       %s --keygen FILE | --version | --help\n"
        "\n"
        "%s, logging to stderr.\n"
        "  -c, --config FILE   configuration (default %s; a missing\n"
        "                      default file means built-in defaults)\n"
        "  --keygen FILE       make this program's key pair: FILE (public) and FILE_secret\n"
        "\n"
        "Configuration keys:\n", daemon->program, daemon->program, daemon->purpose,
        daemon->default_config);
    for (const config_key_t *key = daemon->keys; key->key; key++) {
        if (key->type == CONFIG_SECTIONS) {
            char sections [64];
            snprintf (sections, sizeof sections, "[%sNAME]", key->section);
            fprintf (out, "  %-31s %s\n", sections, key->help);
        }
        else
            fprintf (out, "  %-10s %-20s %s\n", key->section, key->key, key->help);
    }
    fprintf (out, "See %s(8).\n", daemon->program);
}

static int
s_keygen (const daemon_t *daemon, const char *path)
{
    char err [1024];
    if (keys_generate (path, daemon->program, err, sizeof err)) {
        fprintf (stderr, "%s: %s\n", daemon->program, err);
        return 1;
    }
    printf ("%s (public: give it to the cluster's admin) and %s_secret (keep it here, "
            "mode 0600)\n", path, path);
    return 0;
}

int
daemon_start (const daemon_t *daemon, int argc, char **argv)
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
            case 'h': s_usage (daemon, stdout); return 0;
            case 'V': printf ("%s %s\n", daemon->program, VMSCHED_VERSION); return 0;
            case 'K': return s_keygen (daemon, optarg);
            default:  s_usage (daemon, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "%s: unexpected argument '%s'\n", daemon->program, argv [optind]);
        s_usage (daemon, stderr);
        return 2;
    }
    char err [1024];
    bool use_file = config_path || access (daemon->default_config, F_OK) == 0;
    if (daemon->config_path && daemon->config_path_size)
        snprintf (daemon->config_path, daemon->config_path_size, "%s", !use_file? "":
                  config_path? config_path: daemon->default_config);
    if ((use_file && config_load (config_path? config_path: daemon->default_config,
                                  daemon->keys, daemon->config, err, sizeof err))
    ||  daemon->check (daemon->config, err, sizeof err)) {
        fprintf (stderr, "%s: %s\n", daemon->program, err);
        return 1;
    }
    log_level_t level = LOG_LEVEL_INFO;
    log_level_parse (daemon->log_level, &level);
    log_init (daemon->program, level);
    zsys_init ();
    zsys_set_logstream (NULL);      // czmq's own messages would bypass our format
    return -1;
}
