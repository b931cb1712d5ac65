/*  test_watchdog.c - the watchdog settings, and petting a file and a device for real.

    The "device" is a FIFO in a temporary directory: what the watchdog writes comes out of
    its other end, so the test sees every byte (a pet is "1", and there must never be the
    magic close 'V', not even when the handle is closed). /dev/watchdog is never opened.
*/
#include "check.h"
#include "fixture_files.h"
#include "log.h"
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

//  The file's mtime in ns, or -1 when it is missing.
static int64_t
s_mtime_ns (const char *path)
{
    struct stat info;
    if (stat (path, &info) < 0)
        return -1;
    return (int64_t) info.st_mtim.tv_sec * 1000000000 + info.st_mtim.tv_nsec;
}

static int
s_case_parse (void)
{
    int failures = 0;
    watchdog_spec_t spec;
    char err [512], text [WATCHDOG_PATH_SIZE + 16];

    CHECK (watchdog_parse ("none", &spec, err, sizeof err) == 0);
    CHECK (spec.kind == WATCHDOG_NONE && !watchdog_configured (&spec));
    CHECK (strcmp (watchdog_describe (&spec, text, sizeof text), "none") == 0);

    CHECK (watchdog_parse ("/dev/watchdog", &spec, err, sizeof err) == 0);
    CHECK (spec.kind == WATCHDOG_DEVICE && watchdog_configured (&spec));
    CHECK (strcmp (spec.path, "/dev/watchdog") == 0);
    CHECK (strcmp (watchdog_describe (&spec, text, sizeof text), "device /dev/watchdog") == 0);

    CHECK (watchdog_parse ("/dev/watchdog1", &spec, err, sizeof err) == 0);
    CHECK (spec.kind == WATCHDOG_DEVICE && strcmp (spec.path, "/dev/watchdog1") == 0);

    CHECK (watchdog_parse ("file:/run/x", &spec, err, sizeof err) == 0);
    CHECK (spec.kind == WATCHDOG_FILE && strcmp (spec.path, "/run/x") == 0);
    CHECK (strcmp (watchdog_describe (&spec, text, sizeof text), "file /run/x") == 0);
    CHECK (watchdog_configured (&spec));
    CHECK (!watchdog_configured (NULL));

    //  Every refusal names the value and the accepted forms, and leaves none behind.
    const char *bad [] = { "", "watchdog", "None", "dev/watchdog", "file:", "file:run/x",
                           "file", "device:/dev/watchdog" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        spec.kind = WATCHDOG_FILE;
        err [0] = 0;
        CHECK (watchdog_parse (bad [i], &spec, err, sizeof err) == -1);
        char quoted [64];
        snprintf (quoted, sizeof quoted, "invalid watchdog '%s'", bad [i]);
        CHECK (strstr (err, quoted) != NULL);
        CHECK (strstr (err, "none") && strstr (err, "file:/") && strstr (err, "/dev/watchdog"));
        CHECK (spec.kind == WATCHDOG_NONE);
    }
    CHECK (watchdog_parse ("file:run/x", &spec, err, sizeof err) == -1);
    CHECK (strstr (err, "absolute") != NULL);
    CHECK (watchdog_parse (NULL, &spec, err, sizeof err) == -1);

    char *longest = malloc (WATCHDOG_PATH_SIZE + 8);
    memset (longest, 'x', WATCHDOG_PATH_SIZE + 7);
    longest [0] = '/';
    longest [WATCHDOG_PATH_SIZE + 7] = 0;
    CHECK (watchdog_parse (longest, &spec, err, sizeof err) == -1);
    CHECK (strstr (err, "too long") != NULL);
    free (longest);
    return failures;
}

static int
s_case_file (void)
{
    int failures = 0;
    char dir [256], path [320], err [512], setting [400];
    CHECK (fixture_files_tempdir (dir, sizeof dir, "watchdog") == 0);
    snprintf (path, sizeof path, "%s/watchdog", dir);
    snprintf (setting, sizeof setting, "file:%s", path);
    watchdog_spec_t spec;
    CHECK (watchdog_parse (setting, &spec, err, sizeof err) == 0);

    //  Opening creates the file; a pet sets its mtime to now.
    watchdog_t *watchdog = watchdog_open (&spec, err, sizeof err);
    CHECK (watchdog != NULL);
    CHECK (s_mtime_ns (path) > 0);
    if (watchdog) {
        CHECK (watchdog_spec (watchdog)->kind == WATCHDOG_FILE);
        struct timespec old [2] = { { 1000000000, 0 }, { 1000000000, 0 } };    // 2001
        CHECK (utimensat (AT_FDCWD, path, old, 0) == 0);
        CHECK (s_mtime_ns (path) == 1000000000LL * 1000000000);
        struct timespec now;
        clock_gettime (CLOCK_REALTIME, &now);
        CHECK (watchdog_pet (watchdog) == 0);
        CHECK (s_mtime_ns (path) >= ((int64_t) now.tv_sec - 5) * 1000000000);

        //  A file removed under the watchdog is made again by the next pet.
        CHECK (unlink (path) == 0);
        CHECK (watchdog_pet (watchdog) == 0);
        CHECK (s_mtime_ns (path) >= ((int64_t) now.tv_sec - 5) * 1000000000);

        //  A pet that cannot work says -1 (its directory is gone).
        CHECK (unlink (path) == 0 && rmdir (dir) == 0);
        CHECK (watchdog_pet (watchdog) == -1);
        CHECK (mkdir (dir, 0700) == 0);
        CHECK (watchdog_pet (watchdog) == 0);
    }
    watchdog_close (&watchdog);
    CHECK (watchdog == NULL);
    watchdog_close (&watchdog);
    watchdog_close (NULL);

    //  A file in a directory that does not exist cannot be opened; the error says which.
    snprintf (setting, sizeof setting, "file:%s/missing/watchdog", dir);
    CHECK (watchdog_parse (setting, &spec, err, sizeof err) == 0);
    CHECK (watchdog_open (&spec, err, sizeof err) == NULL);
    CHECK (strstr (err, "cannot open watchdog 'file ") && strstr (err, "/missing/watchdog"));
    CHECK (strstr (err, "No such file or directory") != NULL);
    fixture_files_remove_dir (dir);
    return failures;
}

static int
s_case_device (void)
{
    int failures = 0;
    char dir [256], path [320], err [512];
    CHECK (fixture_files_tempdir (dir, sizeof dir, "watchdog") == 0);
    snprintf (path, sizeof path, "%s/watchdog-device", dir);
    CHECK (mkfifo (path, 0600) == 0);
    int reader = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    CHECK (reader >= 0);

    watchdog_spec_t spec;
    CHECK (watchdog_parse (path, &spec, err, sizeof err) == 0);
    CHECK (spec.kind == WATCHDOG_DEVICE);
    watchdog_t *watchdog = watchdog_open (&spec, err, sizeof err);
    CHECK (watchdog != NULL);
    for (int i = 0; i < 3 && watchdog; i++)
        CHECK (watchdog_pet (watchdog) == 0);
    watchdog_close (&watchdog);
    CHECK (watchdog == NULL);

    //  Three pets, then the writer closed without a magic 'V': EOF after "111".
    char bytes [16] = "";
    ssize_t got = reader >= 0? read (reader, bytes, sizeof bytes - 1): -1;
    CHECK (got == 3 && memcmp (bytes, "111", 3) == 0);
    CHECK (reader >= 0 && read (reader, bytes, sizeof bytes) == 0);
    if (reader >= 0)
        close (reader);

    //  A device that is not there: the error names it and the cause.
    snprintf (path, sizeof path, "%s/no-such-device", dir);
    CHECK (watchdog_parse (path, &spec, err, sizeof err) == 0);
    CHECK (watchdog_open (&spec, err, sizeof err) == NULL);
    char expected [400];
    snprintf (expected, sizeof expected, "cannot open watchdog 'device %s': ", path);
    CHECK (strstr (err, expected) != NULL);
    fixture_files_remove_dir (dir);
    return failures;
}

static int
s_case_none (void)
{
    int failures = 0;
    char err [256];
    watchdog_spec_t spec;
    CHECK (watchdog_parse ("none", &spec, err, sizeof err) == 0);
    watchdog_t *watchdog = watchdog_open (&spec, err, sizeof err);
    CHECK (watchdog != NULL);
    CHECK (watchdog && watchdog_pet (watchdog) == 0);
    watchdog_close (&watchdog);
    CHECK (watchdog == NULL);
    return failures;
}

int
main (int argc, char **argv)
{
    log_init ("test_watchdog", getenv ("VMSCHED_TEST_LOG")? LOG_LEVEL_DEBUG: LOG_LEVEL_NONE);
    static const check_case_t cases [] = {
        { "parse", s_case_parse },
        { "file", s_case_file },
        { "device", s_case_device },
        { "none", s_case_none },
    };
    return CHECK_RUN_ALL ("watchdog", cases, argc, argv)? 1: 0;
}
