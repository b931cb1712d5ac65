/*  test_config.c - config_load: values, ranges, unknown keys, syntax errors, missing file;
    sections left to another reader (CONFIG_OTHER) and that reader's config_each. */
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

//  The same keys, and [list NAME] sections read by another pass (config_each).
static const config_key_t s_keys_other [] = {
    CONFIG_STR ("main", "name", s_config_t, name, "a name"),
    CONFIG_OTHER ("list ", "one of a list"),
    CONFIG_END
};

//  What config_each saw: "[section]" for a header, "key=value" for an entry, one a line.
typedef struct {
    char seen [512];        // the entries in order
    int fail_at;            // fail on this call (1-based), 0 never
    int calls;              // calls so far
} s_each_t;

static int
s_on_each (void *arg, const char *section, const char *key, const char *value, char *err,
           size_t err_size)
{
    s_each_t *each = arg;
    size_t used = strlen (each->seen);
    if (key)
        snprintf (each->seen + used, sizeof each->seen - used, "%s.%s=%s\n", section, key, value);
    else
        snprintf (each->seen + used, sizeof each->seen - used, "[%s]\n", section);
    if (++each->calls == each->fail_at) {
        snprintf (err, err_size, "refused '%s'", key? key: section);
        return -1;
    }
    return 0;
}

//  Writes text to a temporary file and runs config_each over it.
static int
s_each (const char *text, s_each_t *each, char *err, size_t err_size)
{
    char path [] = "/tmp/vmsched-config-test-XXXXXX";
    int fd = mkstemp (path);
    if (fd < 0)
        return -2;
    bool written = write (fd, text, strlen (text)) == (ssize_t) strlen (text);
    close (fd);
    int rc = written? config_each (path, s_on_each, each, err, err_size): -2;
    unlink (path);
    return rc;
}

//  Writes text to a temporary file and loads it.
static int
s_load_keys (const char *text, const config_key_t *keys, s_config_t *cfg, char *err,
             size_t err_size);

static int
s_load (const char *text, s_config_t *cfg, char *err, size_t err_size)
{
    return s_load_keys (text, s_keys, cfg, err, err_size);
}

static int
s_load_keys (const char *text, const config_key_t *keys, s_config_t *cfg, char *err,
             size_t err_size)
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
    int rc = config_load (path, keys, cfg, err, err_size);
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

    //  Sections of another reader are skipped whatever their keys; others still refused.
    CHECK (s_load_keys ("[main]\nname = x\n[list a]\nanything = 1\n[list b]\nname = 2\n",
                        s_keys_other, &cfg, err, sizeof err) == 0);
    CHECK (strcmp (cfg.name, "x") == 0);
    CHECK (s_load_keys ("[lists]\nname = x\n", s_keys_other, &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "unknown section [lists]"));
    CHECK (s_load_keys ("[main]\nother = 1\n", s_keys_other, &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "unknown key 'other' in [main]; known keys: name"));

    //  config_each: headers (empty sections too) and entries in file order; continuation
    //  lines (an indented header after a key is one too, as inih reads it).
    s_each_t each = { "", 0, 0 };
    CHECK (s_each ("top = 0\n[a]\nx = 1 ; comment\n  more\n  [b]\n[c]\n[d] ; empty\ny=2\n",
                   &each, err, sizeof err) == 0);
    CHECK (strcmp (each.seen, ".top=0\n[a]\na.x=1\na.x=more\na.x=[b]\n[c]\n[d]\nd.y=2\n") == 0);
    each = (s_each_t) { "", 3, 0 };
    CHECK (s_each ("[a]\nx = 1\n[b]\ny = 2\n", &each, err, sizeof err) == -1);
    CHECK (strstr (err, "line 3: refused 'b'"));
    each = (s_each_t) { "", 2, 0 };
    CHECK (s_each ("[a]\n\nx = 1\n", &each, err, sizeof err) == -1);
    CHECK (strstr (err, "line 3: refused 'x'"));
    each = (s_each_t) { "", 0, 0 };
    CHECK (s_each ("[a]\njust words\n", &each, err, sizeof err) == -1);
    CHECK (strstr (err, "line 2: syntax error"));
    CHECK (s_each ("[a-section-name-of-fifty-characters-is-one-too-many]\n", &each, err,
                   sizeof err) == -1);
    CHECK (strstr (err, "line 1: section name") && strstr (err, "too long (at most 49"));
    char long_line [400] = "[a]\nkey = ";
    memset (long_line + strlen (long_line), 'v', 250);
    strcat (long_line, "\n");
    CHECK (s_each (long_line, &each, err, sizeof err) == -1);
    CHECK (strstr (err, "line 2: line too long"));
    CHECK (config_each ("/nonexistent/x.conf", s_on_each, &each, err, sizeof err) == -1);
    CHECK (strstr (err, "cannot read config '/nonexistent/x.conf'"));
    return check_report ("config", failures);
}
