/*  fixture_files.h - the unit tests' temporary directories and small text files.

    A test program makes one directory under /tmp for everything it writes (state
    directories, key pairs, config files) and removes it at the end; in between it writes
    and reads small text files there. These helpers never abort: they return -1 (or "" or
    NULL) and the test's CHECK says what failed.
*/
#ifndef VMSCHED_FIXTURE_FILES_H
#define VMSCHED_FIXTURE_FILES_H

#include <stddef.h>

//  Makes a new directory /tmp/vmsched-SUITE-test-XXXXXX (mkdtemp) and puts its path into
//  dir (size bytes). 0, or -1 when the name does not fit or mkdtemp fails.
int fixture_files_tempdir (char *dir, size_t size, const char *suite);

//  Removes dir and everything below it (rm -rf); says so on stderr when it cannot.
//  0, or -1.
int fixture_files_remove_dir (const char *dir);

//  Writes text to path, replacing the file. 0, or -1.
int fixture_files_write (const char *path, const char *text);

//  fixture_files_write with printf formatting (up to 2047 characters).
int fixture_files_writef (const char *path, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Reads the first line of path into out (size bytes, without the newline); "" when the
//  file cannot be read.
void fixture_files_read_line (const char *path, char *out, size_t size);

//  A whole file as a string (caller frees), or NULL.
char *fixture_files_read (const char *path);

#endif
