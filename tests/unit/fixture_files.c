/*  fixture_files.c - the unit tests' temporary directories and small text files.

    Owns nothing between calls: every function opens, uses and closes its file. Meant for
    tests only (it shells out to rm -rf); never used by the programs themselves.
*/
#include "fixture_files.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
fixture_files_tempdir (char *dir, size_t size, const char *suite)
{
    int length = snprintf (dir, size, "/tmp/vmsched-%s-test-XXXXXX", suite);
    if (length < 0 || (size_t) length >= size || !mkdtemp (dir)) {
        if (size)
            dir [0] = 0;
        return -1;
    }
    return 0;
}

int
fixture_files_remove_dir (const char *dir)
{
    char command [600];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    if (system (command) != 0) {
        fprintf (stderr, "cannot remove %s\n", dir);
        return -1;
    }
    return 0;
}

int
fixture_files_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    int rc = fputs (text, file) < 0? -1: 0;
    return fclose (file) || rc? -1: 0;
}

int
fixture_files_writef (const char *path, const char *format, ...)
{
    char text [2048];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    return fixture_files_write (path, text);
}

void
fixture_files_read_line (const char *path, char *out, size_t size)
{
    out [0] = 0;
    FILE *file = fopen (path, "r");
    if (file) {
        if (!fgets (out, (int) size, file))
            out [0] = 0;
        fclose (file);
    }
    out [strcspn (out, "\n")] = 0;
}

char *
fixture_files_read (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    long length = fseek (file, 0, SEEK_END) == 0? ftell (file): -1;
    rewind (file);
    char *text = length >= 0? malloc ((size_t) length + 1): NULL;
    size_t size = text? fread (text, 1, (size_t) length, file): 0;
    if (text)
        text [size] = 0;
    fclose (file);
    return text;
}
