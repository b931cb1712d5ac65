/*  watchdog.h - the watchdog the agent pets while its host is connected (DESIGN.md §5.3, §5.11).

    A host that stops petting is reset by whatever watches it, W after the last pet, whatever
    state the host is in: a hardware or kernel watchdog device (`/dev/watchdog`, or any other
    device path), or in the lab a file whose mtime a process outside the host watches
    (`file:PATH`, LAB.md "Watchdog in the lab"). `none` configures nothing. Only the fencer
    thread (fencer.h) pets, and only while the host holds a lease; nothing else may.

    A device is opened O_WRONLY and petted by writing one byte "1". It is never sent the
    magic close 'V', not even by watchdog_close: a stopped or crashed agent must let the
    host reset. Opening a device starts its timer, so the fencer opens it only when it first
    has something to pet. A file is petted by setting its mtime to now (created when
    missing; the file's content is never read).
*/
#ifndef VMSCHED_WATCHDOG_H
#define VMSCHED_WATCHDOG_H

#include <stdbool.h>
#include <stddef.h>

#define WATCHDOG_PATH_SIZE 1024         // longest device or file path + NUL

typedef enum {
    WATCHDOG_NONE = 0,                  // nothing to pet
    WATCHDOG_DEVICE,                    // a watchdog device: write "1" to pet
    WATCHDOG_FILE                       // the lab's stand-in: touch the file's mtime to pet
} watchdog_kind_t;

//  A parsed `watchdog = ...` setting.
typedef struct {
    watchdog_kind_t kind;               // which kind of watchdog
    char path [WATCHDOG_PATH_SIZE];     // device or file path ("" for WATCHDOG_NONE)
} watchdog_spec_t;

typedef struct watchdog_t watchdog_t;

//  Parse a setting: "none", "file:/ABSOLUTE/PATH" or an absolute device path such as
//  "/dev/watchdog". 0 with *out filled, or -1 with "invalid watchdog 'x': expected ..." in
//  err (out is then set to none).
int watchdog_parse (const char *spec, watchdog_spec_t *out, char *err, size_t err_size);

//  True when spec names something to pet (a device or a file).
bool watchdog_configured (const watchdog_spec_t *spec);

//  "device /dev/watchdog", "file /run/x" or "none" into buf (size bytes), for logs and
//  HELLO. Returns buf.
const char *watchdog_describe (const watchdog_spec_t *spec, char *buf, size_t size);

//  Open the watchdog spec names: a device is opened (its timer starts now), a file is
//  created when missing. A spec of none gives a handle whose pets do nothing. The handle
//  keeps a copy of spec. NULL with the reason in err on failure.
watchdog_t *watchdog_open (const watchdog_spec_t *spec, char *err, size_t err_size);

//  Pet once: write "1" to the device, or set the file's mtime to now (re-creating a file
//  that was removed). 0, or -1 (logged here, sampled, so a failing pet every second does
//  not flood the log; a pet that works again after failures says so once). One thread at
//  a time: the fencer's.
int watchdog_pet (watchdog_t *self);

//  The spec the handle was opened with (borrowed).
const watchdog_spec_t *watchdog_spec (const watchdog_t *self);

//  Close without the magic close: a device's timer keeps running, so the host resets
//  unless someone opens and pets it again. NULL-safe; sets *self_p = NULL.
void watchdog_close (watchdog_t **self_p);

#endif
