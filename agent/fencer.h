/*  fencer.h - the isolation response: a host without a lease kills its HA domains
    (DESIGN.md §5.3, §5.11).

    A thread of its own, independent of the agent's loop and of libvirtd: the loop publishes
    one number, the CLOCK_BOOTTIME millisecond until which the host is connected (holds the
    leader lease or a majority of witness leases), and the thread compares it with the
    clock every poll interval. While the host is connected it pets the watchdog (if one is
    configured) every pet interval and does nothing else. From the first poll at which the
    lease has run out it is latched: it never pets again, and on every poll it SIGKILLs the
    QEMU process of every HA domain it finds, until the loop calls fencer_unlatch (the host
    registered with a new generation) and the host is connected again. So a frozen loop, a
    crashed libvirtd or a partition all end the same way: HA domains die within a poll of
    the lease's end, and with a watchdog the host resets W after its last pet.

    HA domains are found without libvirt, in what libvirt's QEMU driver leaves on disk:
    RUN_DIR/NAME.pid (the QEMU pid) and RUN_DIR/NAME.xml (the live status XML, read with
    libxml2); a domain is HA when a child of a <metadata> element in its XML is
    <vm xmlns="https://vmsched.dev/xmlns/vm/1" ha="yes"/> (any prefix). A pid from a
    pidfile is killed only when /proc/PID/cmdline is a QEMU run for that name (argv[0]
    contains "qemu", and "-name guest=NAME,..." or "-name NAME"), so a stale pidfile whose
    pid was reused kills nothing; the check and the kill go through a pidfd where the kernel
    has them, so the pid cannot be reused between the two. Whether a pidfile is missing or
    stale, the machine cgroup of every HA domain (CGROUP_ROOT/machine.slice/
    machine-qemu\x2dID\x2dNAME.scope, or the cgroup v1 layouts, also below a controller
    directory) is searched too, and every process listed in a cgroup.procs below it is
    killed. A domain whose XML is missing or unreadable counts as not HA: nothing but an HA
    domain is ever killed, and nothing is killed on fencer_destroy.
*/
#ifndef VMSCHED_FENCER_H
#define VMSCHED_FENCER_H

#include "watchdog.h"
#include "xmlns.h"                  // VMSCHED_XMLNS_VM: the HA marker's namespace

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FENCER_PATH_SIZE    1024                    // longest directory path + NUL
#define FENCER_NAME_SIZE    256                     // longest domain name + NUL
#define FENCER_RUN_DIR      "/run/libvirt/qemu"     // default RUN_DIR
#define FENCER_CGROUP_ROOT  "/sys/fs/cgroup"        // default CGROUP_ROOT
#define FENCER_POLL_MS      100                     // default poll interval
#define FENCER_PET_MS       1000                    // default pet interval

typedef struct {
    watchdog_spec_t watchdog;               // pet this while connected (none: nothing)
    char run_dir [FENCER_PATH_SIZE];        // libvirt's QEMU state dir (NAME.pid, NAME.xml)
    char cgroup_root [FENCER_PATH_SIZE];    // where the machine cgroups are mounted
    int poll_ms;                            // the thread looks this often (1 .. 10000)
    int pet_ms;                             // and pets at most this often (1 .. 600000)
    int64_t connected_until_ms;             // lease the fencer starts with (CLOCK_BOOTTIME
                                            // ms; 0: none, so it latches on its first poll;
                                            // an agent may pass a lease it kept on disk)
} fencer_config_t;

//  Where a fencer_domain_t's pid came from.
typedef enum {
    FENCER_FROM_PIDFILE = 1,                // RUN_DIR/NAME.pid
    FENCER_FROM_CGROUP                      // a cgroup.procs of the domain's machine cgroup
} fencer_source_t;

//  One process of a domain, as fencer_scan found it.
typedef struct {
    char name [FENCER_NAME_SIZE];           // domain name
    int pid;                                // the process
    bool ha;                                // RUN_DIR/NAME.xml marks the domain HA
    bool verified;                          // pidfile: /proc/PID/cmdline is NAME's QEMU
                                            // (false: stale); cgroup: always true
    fencer_source_t source;                 // pidfile or cgroup
} fencer_domain_t;

typedef struct fencer_t fencer_t;

//  Defaults: no watchdog, FENCER_RUN_DIR, FENCER_CGROUP_ROOT, FENCER_POLL_MS, FENCER_PET_MS,
//  no lease.
void fencer_config_defaults (fencer_config_t *config);

//  Check what fencer_new would refuse (intervals in range, directories given as absolute
//  paths). 0, or -1 with the reason in err.
int fencer_config_check (const fencer_config_t *config, char *err, size_t err_size);

//  Every domain process found now, from pidfiles and machine cgroups, pidfile entries
//  first (in RUN_DIR's order); a domain found both ways appears once per source. Fills
//  out with up to max entries and returns how many there are in all (more than max:
//  call again with a bigger array). Reads files only; kills nothing.
size_t fencer_scan (const fencer_config_t *config, fencer_domain_t *out, size_t max);

//  Check config and start the thread (with config->connected_until_ms as the lease). The
//  watchdog is opened by the thread when it first pets (opening a device arms it), so a
//  host that has never been connected is not reset. NULL with the reason in err.
fencer_t *fencer_new (const fencer_config_t *config, char *err, size_t err_size);

//  Stop and join the thread and close the watchdog without the magic close. Kills
//  nothing. NULL-safe; sets *self_p = NULL.
void fencer_destroy (fencer_t **self_p);

//  Publish the end of the host's lease (CLOCK_BOOTTIME ms). Any thread; never blocks.
void fencer_set_connected_until (fencer_t *self, int64_t until_ms);

//  Ask the thread to leave the latched state (the host registered with a new generation).
//  It does so at the first poll at which the host is connected (now < connected_until),
//  and pets again at once; until then the request waits. A request while not latched is
//  dropped. Any thread; never blocks (fencer_latched turns false within a poll).
void fencer_unlatch (fencer_t *self);

//  True from the poll that found the lease expired until the thread honoured an unlatch.
//  While true the agent must not start an HA domain.
bool fencer_latched (const fencer_t *self);

//  HA domain processes killed so far (each counted and logged once), and pets done.
uint64_t fencer_kills (const fencer_t *self);
uint64_t fencer_pets (const fencer_t *self);

//  For tests: run one kill pass now, in the calling thread, latched or not (the thread's
//  passes wait for it). Returns the processes killed by this pass, or -1 when the
//  domains could not be listed (out of memory).
int fencer_kill_ha_now (fencer_t *self);

#endif
