/*  watchdog.c - the watchdog the agent pets while its host is connected (see watchdog.h).

    Owns one open device descriptor (WATCHDOG_DEVICE) or nothing but a path (WATCHDOG_FILE:
    every pet goes by path, so a file that was removed or replaced is the one petted, not an
    unlinked inode the lab's watcher no longer sees). It must never write 'V' to a device:
    the magic close would disarm the reset that makes a stopped agent safe.
*/
#include "watchdog.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FILE_PREFIX "file:"

struct watchdog_t {
    watchdog_spec_t spec;               // what this handle pets
    int fd;                             // WATCHDOG_DEVICE: the open device; else -1
    uint64_t failures;                  // consecutive failed pets (0 after a good one)
};

//  --------------------------------------------------------------------------
//  Settings

int
watchdog_parse (const char *spec, watchdog_spec_t *out, char *err, size_t err_size)
{
    memset (out, 0, sizeof *out);
    const char *text = spec? spec: "";
    const char *path = NULL;
    watchdog_kind_t kind = WATCHDOG_NONE;
    if (strcmp (text, "none") == 0)
        return 0;
    if (strncmp (text, S_FILE_PREFIX, strlen (S_FILE_PREFIX)) == 0) {
        kind = WATCHDOG_FILE;
        path = text + strlen (S_FILE_PREFIX);
    }
    else
    if (text [0] == '/') {
        kind = WATCHDOG_DEVICE;
        path = text;
    }
    const char *why = NULL;
    if (!path)
        why = "";
    else
    if (path [0] != '/')
        why = " (the path must be absolute)";
    else
    if (strlen (path) >= sizeof out->path)
        why = " (the path is too long)";
    if (why) {
        bool cut = strlen (text) > 200;         // quote a long value's start only
        snprintf (err, err_size, "invalid watchdog '%.200s%s'%s: expected none, "
                  "file:/ABSOLUTE/PATH (the lab's stand-in) or a device path such as "
                  "/dev/watchdog", text, cut? "...": "", why);
        return -1;
    }
    out->kind = kind;
    snprintf (out->path, sizeof out->path, "%s", path);
    return 0;
}

bool
watchdog_configured (const watchdog_spec_t *spec)
{
    return spec && spec->kind != WATCHDOG_NONE;
}

const char *
watchdog_describe (const watchdog_spec_t *spec, char *buf, size_t size)
{
    if (!watchdog_configured (spec))
        snprintf (buf, size, "none");
    else
        snprintf (buf, size, "%s %s", spec->kind == WATCHDOG_DEVICE? "device": "file",
                  spec->path);
    return buf;
}

//  --------------------------------------------------------------------------
//  The handle

//  Creates the file at path when it is missing (never truncates it). 0, or -1 with errno.
static int
s_create_file (const char *path)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return -1;
    close (fd);
    return 0;
}

watchdog_t *
watchdog_open (const watchdog_spec_t *spec, char *err, size_t err_size)
{
    watchdog_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "cannot open watchdog: out of memory");
        return NULL;
    }
    self->spec = *spec;
    self->fd = -1;
    char what [WATCHDOG_PATH_SIZE + 16];
    watchdog_describe (spec, what, sizeof what);
    int rc = 0;
    if (spec->kind == WATCHDOG_DEVICE) {
        self->fd = open (spec->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        rc = self->fd < 0? -1: 0;
    }
    else
    if (spec->kind == WATCHDOG_FILE)
        rc = s_create_file (spec->path);
    if (rc < 0) {
        snprintf (err, err_size, "cannot open watchdog '%s': %s", what, strerror (errno));
        free (self);
        return NULL;
    }
    return self;
}

//  One pet without reporting. 0, or -1 with errno.
static int
s_pet (watchdog_t *self)
{
    if (self->spec.kind == WATCHDOG_DEVICE) {
        ssize_t written;
        do
            written = write (self->fd, "1", 1);
        while (written < 0 && errno == EINTR);
        if (written == 1)
            return 0;
        if (written >= 0)
            errno = EIO;
        return -1;
    }
    if (self->spec.kind == WATCHDOG_FILE) {
        if (utimensat (AT_FDCWD, self->spec.path, NULL, 0) == 0)
            return 0;
        if (errno != ENOENT || s_create_file (self->spec.path) < 0)
            return -1;
        return utimensat (AT_FDCWD, self->spec.path, NULL, 0);
    }
    return 0;
}

int
watchdog_pet (watchdog_t *self)
{
    char what [WATCHDOG_PATH_SIZE + 16];
    if (s_pet (self) < 0) {
        int error = errno;
        self->failures++;
        if (log_sampled (self->failures))
            log_error ("cannot pet watchdog '%s': %s (%llu failed pets in a row)",
                       watchdog_describe (&self->spec, what, sizeof what), strerror (error),
                       (unsigned long long) self->failures);
        errno = error;
        return -1;
    }
    if (self->failures) {
        log_info ("watchdog '%s': petting again after %llu failed pets",
                  watchdog_describe (&self->spec, what, sizeof what),
                  (unsigned long long) self->failures);
        self->failures = 0;
    }
    return 0;
}

const watchdog_spec_t *
watchdog_spec (const watchdog_t *self)
{
    return &self->spec;
}

void
watchdog_close (watchdog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    watchdog_t *self = *self_p;
    if (self->fd >= 0)
        close (self->fd);           // no 'V' first: the timer keeps running
    free (self);
    *self_p = NULL;
}
