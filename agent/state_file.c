/*  state_file.c - files in the agent's STATE_DIR, replaced whole (see state_file.h).
*/
#include "state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
state_file_write (const char *state_dir, const char *name, const char *text, bool durable,
                  char *err, size_t err_size)
{
    char path [1100], tmp [1110];
    snprintf (path, sizeof path, "%s/%s", state_dir, name);
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    FILE *file = fopen (tmp, "w");
    bool written = file && fputs (text, file) >= 0 && fflush (file) == 0
                && (!durable || fsync (fileno (file)) == 0);
    if (file)
        written = fclose (file) == 0 && written;
    if (!written || rename (tmp, path)) {
        snprintf (err, err_size, "cannot write '%s': %s", path, strerror (errno));
        unlink (tmp);
        return -1;
    }
    if (!durable)
        return 0;
    int dir = open (state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || fsync (dir)) {
        snprintf (err, err_size, "cannot sync directory '%s': %s", state_dir, strerror (errno));
        if (dir >= 0)
            close (dir);
        return -1;
    }
    close (dir);
    return 0;
}

