/*  test_config.c - config_load: values, ranges, unknown keys, syntax errors, missing file. */
#include "check.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char name [16];         // a short string
    uint64_t interval;      // a bounded number
    bool verbose;           // a flag
} s_config_t;

static const config_key_t s_keys [] = {
    CONFIG_STR ("main", "name", s_config_t, name, "a name"),
    CONFIG_NUM ("main", "interval", s_config_t, interval, 10, 1000, "milliseconds"),
    CONFIG_FLAG ("main", "verbose", s_config_t, verbose, "chatty"),
    CONFIG_END
};

//  Writes text to a temporary file and loads it.
static int
s_load (const char *text, s_config_t *cfg, char *err, size_t err_size)
{
    char path [] = "/tmp/vmsched-config-test-XXXXXX";
    int fd = mkstemp (path);
    if (fd < 0)
        return -2;
    if (write (fd, text, strlen (text)) != (ssize_t) strlen (text)) {
        close (fd);
        unlink (path);
        return -2;
    }
    close (fd);
    int rc = config_load (path, s_keys, cfg, err, err_size);
    unlink (path);
    return rc;
}

int
main (void)
{
    int failures = 0;
    char err [1024] = "";
    s_config_t cfg = { "default", 100, false };

    CHECK (s_load ("[main]\nname = h1 ; comment\ninterval=250\nverbose = yes\n",
                   &cfg, err, sizeof err) == 0);
    CHECK (strcmp (cfg.name, "h1") == 0 && cfg.interval == 250 && cfg.verbose);

    CHECK (s_load ("[main]\ninterval = 5\n", &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "line 2") && strstr (err, "from 10 to 1000"));
    CHECK (cfg.interval == 250);
    CHECK (s_load ("[main]\ninterval = 12abc\n", &cfg, err, sizeof err) == -1);
    CHECK (s_load ("[main]\ninterval = -1\n", &cfg, err, sizeof err) == -1);
    CHECK (s_load ("[main]\ninterval = 99999999999999999999999\n", &cfg, err, sizeof err) == -1);
    CHECK (s_load ("[main]\nnmae = x\n", &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "unknown key 'nmae'") && strstr (err, "name, interval, verbose"));
    CHECK (s_load ("[other]\nname = x\n", &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "unknown section [other]"));
    CHECK (s_load ("[main]\nname = a-name-far-too-long-for-it\n", &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "too long"));
    CHECK (s_load ("[main]\njust some words\n", &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "syntax error"));
    CHECK (s_load ("[main]\nverbose = maybe\n", &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "expected true or false"));
    CHECK (config_load ("/nonexistent/vmsched.conf", s_keys, &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "no such file"));
    CHECK (config_set (s_keys, &cfg, "main", "interval", "20", err, sizeof err) == 0);
    CHECK (cfg.interval == 20);
    return check_report ("config", failures);
}
