/*  copycount.c - the lab's copy counter: running QEMU copies of every VM across lab hosts.

    usage: lab_copycount [--out FILE] [--summary-json FILE] [--interval-ms MS] HOST=NETNS...
           lab_copycount --once HOST=NETNS...
    HOST is a lab host's name (h1), NETNS its network namespace file (/run/netns/vlt-h1).

    Counts, from outside the hosts, every QEMU process of every lab host about every 50 ms for
    as long as it runs: a process belongs to host H when its network namespace (the inode of
    /proc/PID/ns/net) is H's; it is QEMU when its comm or argv[0]'s base name starts with
    "qemu-system"; the VM's name is the guest= of its -name option. Split-brain tests need
    this view because no libvirtd can give it: each one only knows its own host, and a frozen
    host's libvirtd answers nothing.

    It reads only /proc/PID/{ns/net,stat,cmdline}, none of which waits for the process
    (reading the cmdline of a stopped process returns at once), so a frozen host cannot stop
    the sampling. A stopped QEMU (state T, a frozen host) still counts as a copy: it runs
    again when thawed; the log names its host as frozen. Zombies do not count. A live
    migration target (a copy started with -incoming while an older copy exists) counts too,
    so a migration shows two copies for its duration; it is also named in the log, and the
    summary gives the figures without such targets beside the plain ones.

    Output, one line per change of a VM's copies (hosts, frozen or incoming ones), to FILE or
    stdout: "TIME_MS NAME COUNT HOSTS [frozen:HOSTS] [incoming:HOSTS]", TIME_MS wall-clock
    milliseconds since the epoch, HOSTS comma-separated ("-" when COUNT is 0). On SIGTERM or
    SIGINT it samples once more, prints a summary to stdout (and as JSON with
    --summary-json) and exits 0. --once prints the current copies "NAME COUNT HOSTS ..." and
    exits. It never signals or changes anything it observes.
*/
#include "lab_tool.h"
#include "vec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOSTS 64
#define HOST_NAME_MAX_LEN 32

typedef struct {
    char name [HOST_NAME_MAX_LEN];  // lab host name (h1)
    dev_t dev;                      // device of its network namespace file (nsfs)
    ino_t ino;                      // inode of its network namespace
} host_t;

//  What one sample saw of one VM: QEMU processes per host index.
typedef struct {
    uint8_t copies [MAX_HOSTS];     // QEMU processes of the VM on each host (zombies excluded)
    uint8_t frozen [MAX_HOSTS];     // of those, stopped ones (state T or t)
    uint8_t incoming [MAX_HOSTS];   // of those, live-migration targets
} seen_t;

typedef struct {
    char *name;                     // guest name (owned)
    seen_t now;                     // latest sample
    seen_t next;                    // sample being taken
    int max_copies;                 // most copies at once, all counted
    int max_copies_ex;              // most copies at once, migration targets not counted
    int64_t ns_multi;               // time with more than one copy
    int64_t ns_multi_ex;            // the same, migration targets not counted
    int64_t first_seen_ms;          // wall clock of the first sample that saw a copy
    char last_hosts [256];          // hosts of the latest sample with copies ("h2")
} vm_t;

//  One QEMU process found by a sample.
typedef struct {
    char *name;                     // guest name (owned until moved into the VM table)
    int host;                       // host index
    bool frozen;                    // state T or t
    bool incoming;                  // started with -incoming
    unsigned long long start;       // start time, clock ticks since boot
} proc_t;

typedef struct {
    host_t hosts [MAX_HOSTS];       // the lab hosts, in command-line order
    int host_count;                 // hosts in use
    vec_t vms;                      // vm_t, sorted by name
    FILE *out;                      // change log
    int64_t samples;                // samples taken
    int64_t last_ns;                // monotonic time of the previous sample (0: none yet)
    int64_t first_ns;               // monotonic time of the first sample
    int64_t max_gap_ns;             // longest interval between two samples
} counter_t;

static int
s_vm_compare (const void *key, const void *item)
{
    return strcmp ((const char *) key, ((const vm_t *) item)->name);
}

//  ---------------------------------------------------------------------------------------
//  Reading /proc

//  Reads at most size - 1 bytes of a /proc file into buf (NUL-terminated); length or -1.
static ssize_t
s_read_proc (const char *path, char *buf, size_t size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < size - 1) {
        ssize_t n = read (fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    close (fd);
    buf [got] = 0;
    return (ssize_t) got;
}

//  The guest name of QEMU's -name value ("guest=web-1,debug-threads=on" or the old "web-1"):
//  a new string, or NULL. QEMU doubles commas inside a value.
static char *
s_guest_name (const char *value)
{
    const char *field = value;
    while (*field) {
        //  One field runs to the first single comma.
        const char *end = field;
        while (*end && !(*end == ',' && end [1] != ','))
            end += (*end == ',')? 2: 1;
        const char *eq = memchr (field, '=', (size_t) (end - field));
        const char *from = NULL;
        if (eq && eq - field == 5 && strncmp (field, "guest", 5) == 0)
            from = eq + 1;
        else
        if (!eq && field == value)
            from = field;
        if (from) {
            char *name = malloc ((size_t) (end - from) + 1);
            if (!name)
                return NULL;
            size_t len = 0;
            for (const char *c = from; c < end; c++) {
                name [len++] = *c;
                if (*c == ',')
                    c++;        // ",," is one comma
            }
            name [len] = 0;
            if (len == 0) {
                free (name);
                return NULL;
            }
            return name;
        }
        field = *end? end + 1: end;
    }
    return NULL;
}

//  Examines one pid of a lab host; fills proc and returns true when it is a QEMU process
//  that counts (not a zombie, guest name found).
static bool
s_read_qemu (const char *pid, int host, proc_t *proc)
{
    char path [300], stat [1024];
    snprintf (path, sizeof path, "/proc/%s/stat", pid);
    if (s_read_proc (path, stat, sizeof stat) <= 0)
        return false;
    //  "PID (COMM) STATE PPID ..." - COMM may hold spaces and parentheses.
    char *open_paren = strchr (stat, '(');
    char *close_paren = strrchr (stat, ')');
    if (!open_paren || !close_paren || close_paren [1] != ' ')
        return false;
    char state = close_paren [2];
    if (state == 'Z' || state == 'X' || state == 'x')
        return false;
    *close_paren = 0;
    bool qemu_comm = strncmp (open_paren + 1, "qemu-system", 11) == 0;
    //  Field 22 (starttime) is the 20th after the closing parenthesis.
    unsigned long long start = 0;
    char *field = close_paren + 2;
    for (int i = 0; i < 19 && field; i++) {
        field = strchr (field, ' ');
        if (field)
            field++;
    }
    if (field)
        start = strtoull (field, NULL, 10);

    static char cmdline [65536];
    snprintf (path, sizeof path, "/proc/%s/cmdline", pid);
    ssize_t len = s_read_proc (path, cmdline, sizeof cmdline);
    if (len <= 0)
        return false;
    const char *argv0 = strrchr (cmdline, '/')? strrchr (cmdline, '/') + 1: cmdline;
    if (!qemu_comm && strncmp (argv0, "qemu-system", 11) != 0)
        return false;
    char *name = NULL;
    bool incoming = false;
    for (char *arg = cmdline; arg < cmdline + len; arg += strlen (arg) + 1) {
        char *value = arg + strlen (arg) + 1;
        if ((strcmp (arg, "-name") == 0 || strcmp (arg, "--name") == 0)
        &&  value < cmdline + len && !name)
            name = s_guest_name (value);
        else
        if (strcmp (arg, "-incoming") == 0 || strcmp (arg, "--incoming") == 0)
            incoming = true;
    }
    if (!name)
        return false;
    *proc = (proc_t) { name, host, state == 'T' || state == 't', incoming, start };
    return true;
}

//  The host index of a process, by its network namespace; -1 when it is on no lab host.
static int
s_host_of (counter_t *self, const char *pid)
{
    char path [300];
    snprintf (path, sizeof path, "/proc/%s/ns/net", pid);
    struct stat st;
    if (stat (path, &st))
        return -1;
    for (int i = 0; i < self->host_count; i++)
        if (self->hosts [i].ino == st.st_ino && self->hosts [i].dev == st.st_dev)
            return i;
    return -1;
}

//  ---------------------------------------------------------------------------------------
//  Sampling

static vm_t *
s_vm_get (counter_t *self, const char *name)
{
    size_t index;
    vm_t *vm = vec_find (&self->vms, name, s_vm_compare, &index);
    if (vm)
        return vm;
    vm_t fresh = { .name = strdup (name), .first_seen_ms = -1 };
    if (!fresh.name || !(vm = vec_insert (&self->vms, index, &fresh))) {
        free (fresh.name);
        fprintf (stderr, "lab_copycount: out of memory\n");
        exit (1);
    }
    return vm;
}

static int
s_total (const uint8_t *counts)
{
    int total = 0;
    for (int i = 0; i < MAX_HOSTS; i++)
        total += counts [i];
    return total;
}

//  Appends the hosts with counts to buf ("h1,h2"; a host twice when it runs two copies).
static void
s_format_hosts (const counter_t *self, const uint8_t *counts, char *buf, size_t size)
{
    size_t len = 0;
    buf [0] = 0;
    for (int i = 0; i < self->host_count; i++)
        for (int n = 0; n < counts [i]; n++) {
            int wrote = snprintf (buf + len, size - len, "%s%s", len? ",": "", self->hosts [i].name);
            if (wrote < 0 || (size_t) wrote >= size - len)
                return;
            len += (size_t) wrote;
        }
}

//  "COUNT HOSTS [frozen:HOSTS] [incoming:HOSTS]" of one sample of a VM.
static void
s_format_seen (const counter_t *self, const seen_t *seen, char *buf, size_t size)
{
    char hosts [1024], frozen [1024], incoming [1024];
    s_format_hosts (self, seen->copies, hosts, sizeof hosts);
    s_format_hosts (self, seen->frozen, frozen, sizeof frozen);
    s_format_hosts (self, seen->incoming, incoming, sizeof incoming);
    snprintf (buf, size, "%d %s%s%s%s%s", s_total (seen->copies), *hosts? hosts: "-",
              *frozen? " frozen:": "", frozen, *incoming? " incoming:": "", incoming);
}

//  Marks the migration targets among procs[0..count) (all of one VM): a copy started with
//  -incoming while an older copy exists.
static void
s_mark_incoming (proc_t *procs, size_t count, seen_t *seen)
{
    for (size_t i = 0; i < count; i++) {
        if (!procs [i].incoming)
            continue;
        for (size_t j = 0; j < count; j++)
            if (procs [j].start < procs [i].start) {
                if (seen->incoming [procs [i].host] < 255)
                    seen->incoming [procs [i].host]++;
                break;
            }
    }
}

//  One look at every process: fills each VM's next sample. 0, or -1 when /proc is unreadable.
static int
s_scan (counter_t *self)
{
    DIR *proc_dir = opendir ("/proc");
    if (!proc_dir) {
        fprintf (stderr, "lab_copycount: cannot open '/proc': %s\n", strerror (errno));
        return -1;
    }
    for (size_t i = 0; i < self->vms.count; i++) {
        vm_t *vm = vec_at (&self->vms, i);
        memset (&vm->next, 0, sizeof vm->next);
    }
    vec_t procs = VEC_OF (proc_t);
    struct dirent *entry;
    while ((entry = readdir (proc_dir))) {
        if (entry->d_name [0] < '0' || entry->d_name [0] > '9')
            continue;
        int host = s_host_of (self, entry->d_name);
        proc_t proc;
        if (host < 0 || !s_read_qemu (entry->d_name, host, &proc))
            continue;
        if (!vec_push (&procs, &proc)) {
            fprintf (stderr, "lab_copycount: out of memory\n");
            exit (1);
        }
    }
    closedir (proc_dir);

    for (size_t i = 0; i < procs.count; i++) {
        proc_t *proc = vec_at (&procs, i);
        vm_t *vm = s_vm_get (self, proc->name);
        if (vm->next.copies [proc->host] < 255)
            vm->next.copies [proc->host]++;
        if (proc->frozen && vm->next.frozen [proc->host] < 255)
            vm->next.frozen [proc->host]++;
    }
    //  Migration targets, per VM (the processes of one VM are few: quadratic is fine).
    for (size_t i = 0; i < procs.count; i++) {
        proc_t *first = vec_at (&procs, i);
        if (!first->name)
            continue;           // already handled with an earlier process of its VM
        proc_t group [MAX_HOSTS];
        size_t count = 0;
        vm_t *vm = s_vm_get (self, first->name);
        for (size_t j = i; j < procs.count; j++) {
            proc_t *other = vec_at (&procs, j);
            if (j != i && (!other->name || strcmp (other->name, vm->name)))
                continue;
            if (count < MAX_HOSTS)
                group [count++] = *other;
            free (other->name);
            other->name = NULL;
        }
        s_mark_incoming (group, count, &vm->next);
    }
    vec_free (&procs);
    return 0;
}

//  Takes a sample: scans, accounts the time since the previous sample to the previous
//  state, logs the VMs whose copies changed.
static int
s_sample (counter_t *self)
{
    int64_t mono = lab_tool_now_ns (CLOCK_MONOTONIC);
    int64_t wall_ms = lab_tool_now_ns (CLOCK_REALTIME) / 1000000;
    if (s_scan (self))
        return -1;
    int64_t gap = self->last_ns? mono - self->last_ns: 0;
    if (gap > self->max_gap_ns)
        self->max_gap_ns = gap;
    if (!self->last_ns)
        self->first_ns = mono;
    self->last_ns = mono;
    self->samples++;

    for (size_t i = 0; i < self->vms.count; i++) {
        vm_t *vm = vec_at (&self->vms, i);
        int before = s_total (vm->now.copies);
        int before_ex = before - s_total (vm->now.incoming);
        if (before > 1)
            vm->ns_multi += gap;
        if (before_ex > 1)
            vm->ns_multi_ex += gap;
        bool changed = memcmp (&vm->now, &vm->next, sizeof vm->now) != 0;
        vm->now = vm->next;
        int copies = s_total (vm->now.copies);
        int copies_ex = copies - s_total (vm->now.incoming);
        if (copies > vm->max_copies)
            vm->max_copies = copies;
        if (copies_ex > vm->max_copies_ex)
            vm->max_copies_ex = copies_ex;
        if (copies > 0) {
            if (vm->first_seen_ms < 0)
                vm->first_seen_ms = wall_ms;
            s_format_hosts (self, vm->now.copies, vm->last_hosts, sizeof vm->last_hosts);
        }
        if (changed && self->out) {
            char line [4096];
            s_format_seen (self, &vm->now, line, sizeof line);
            fprintf (self->out, "%lld %s %s\n", (long long) wall_ms, vm->name, line);
        }
    }
    if (self->out)
        fflush (self->out);
    return 0;
}

//  ---------------------------------------------------------------------------------------
//  Summary

static void
s_json_string (FILE *file, const char *text)
{
    fputc ('"', file);
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf (file, "\\%c", *c);
        else
        if (*c < 0x20)
            fprintf (file, "\\u%04x", *c);
        else
            fputc (*c, file);
    }
    fputc ('"', file);
}

static int64_t
s_ms (int64_t ns)
{
    return (ns + 500000) / 1000000;
}

static void
s_print_summary (const counter_t *self, FILE *file)
{
    fprintf (file, "copycount: %lld samples in %lld ms, max gap between samples %lld ms\n",
             (long long) self->samples, (long long) s_ms (self->last_ns - self->first_ns),
             (long long) s_ms (self->max_gap_ns));
    for (size_t i = 0; i < self->vms.count; i++) {
        const vm_t *vm = vec_at (&self->vms, i);
        fprintf (file, "vm %s: max %d copies at once (%d without migration targets), %lld ms "
                 "with more than one (%lld without), first seen %lld, last on %s, now %d\n",
                 vm->name, vm->max_copies, vm->max_copies_ex, (long long) s_ms (vm->ns_multi),
                 (long long) s_ms (vm->ns_multi_ex), (long long) vm->first_seen_ms,
                 *vm->last_hosts? vm->last_hosts: "-", s_total (vm->now.copies));
    }
}

//  Writes the JSON summary to path (through a temporary file: readers never see half of it).
static int
s_write_json (const counter_t *self, const char *path)
{
    char tmp [4096];
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    FILE *file = fopen (tmp, "w");
    if (!file) {
        fprintf (stderr, "lab_copycount: cannot write '%s': %s\n", tmp, strerror (errno));
        return -1;
    }
    fprintf (file, "{\"samples\":%lld,\"duration_ms\":%lld,\"max_gap_ms\":%lld,\"vms\":{",
             (long long) self->samples, (long long) s_ms (self->last_ns - self->first_ns),
             (long long) s_ms (self->max_gap_ns));
    for (size_t i = 0; i < self->vms.count; i++) {
        const vm_t *vm = vec_at (&self->vms, i);
        fprintf (file, "%s", i? ",": "");
        s_json_string (file, vm->name);
        fprintf (file, ":{\"max_copies\":%d,\"ms_multi\":%lld,\"max_copies_ex_incoming\":%d,"
                 "\"ms_multi_ex_incoming\":%lld,\"first_seen_ms\":%lld,\"copies\":%d,\"last_host\":",
                 vm->max_copies, (long long) s_ms (vm->ns_multi), vm->max_copies_ex,
                 (long long) s_ms (vm->ns_multi_ex), (long long) vm->first_seen_ms,
                 s_total (vm->now.copies));
        s_json_string (file, vm->last_hosts);
        fprintf (file, "}");
    }
    fprintf (file, "}}\n");
    if (fclose (file) || rename (tmp, path)) {
        fprintf (stderr, "lab_copycount: cannot write '%s': %s\n", path, strerror (errno));
        return -1;
    }
    return 0;
}

//  ---------------------------------------------------------------------------------------
//  Main

static void
s_free_vms (counter_t *self)
{
    for (size_t i = 0; i < self->vms.count; i++)
        free (((vm_t *) vec_at (&self->vms, i))->name);
    vec_free (&self->vms);
}

static int
s_usage (void)
{
    fprintf (stderr,
        "usage: lab_copycount [--out FILE] [--summary-json FILE] [--interval-ms MS] HOST=NETNS...\n"
        "       lab_copycount --once HOST=NETNS...\n"
        "HOST is a lab host's name, NETNS its network namespace file (/run/netns/vlab-h1).\n");
    return 2;
}

//  Adds "NAME=NETNS_FILE" to the hosts. 0, or -1 with the reason printed.
static int
s_add_host (counter_t *self, const char *arg)
{
    const char *eq = strchr (arg, '=');
    if (!eq || eq == arg || (size_t) (eq - arg) >= HOST_NAME_MAX_LEN || memchr (arg, ',', (size_t) (eq - arg))) {
        fprintf (stderr, "lab_copycount: bad host '%s' (expected NAME=NETNS_FILE, NAME short, no commas)\n", arg);
        return -1;
    }
    if (self->host_count == MAX_HOSTS) {
        fprintf (stderr, "lab_copycount: more than %d hosts\n", MAX_HOSTS);
        return -1;
    }
    struct stat st, ours;
    if (stat (eq + 1, &st)) {
        fprintf (stderr, "lab_copycount: cannot stat network namespace '%s': %s\n", eq + 1, strerror (errno));
        return -1;
    }
    //  Namespace files all live on the one nsfs: anything else would never match.
    if (stat ("/proc/self/ns/net", &ours) == 0 && st.st_dev != ours.st_dev) {
        fprintf (stderr, "lab_copycount: '%s' is no network namespace file\n", eq + 1);
        return -1;
    }
    host_t *host = &self->hosts [self->host_count++];
    memcpy (host->name, arg, (size_t) (eq - arg));
    host->name [eq - arg] = 0;
    host->dev = st.st_dev;
    host->ino = st.st_ino;
    return 0;
}

int
main (int argc, char **argv)
{
    counter_t self = { .vms = VEC_OF (vm_t) };
    const char *out_path = NULL, *json_path = NULL;
    bool once = false;
    long interval_ms = 50;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--once") == 0)
            once = true;
        else
        if (strcmp (argv [i], "--out") == 0 && i + 1 < argc)
            out_path = argv [++i];
        else
        if (strcmp (argv [i], "--summary-json") == 0 && i + 1 < argc)
            json_path = argv [++i];
        else
        if (strcmp (argv [i], "--interval-ms") == 0 && i + 1 < argc) {
            interval_ms = strtol (argv [++i], NULL, 10);
            if (interval_ms < 1 || interval_ms > 60000)
                return s_usage ();
        }
        else
        if (argv [i][0] == '-')
            return s_usage ();
        else
        if (s_add_host (&self, argv [i]))
            return 2;
    }
    if (self.host_count == 0)
        return s_usage ();

    if (once) {
        if (s_scan (&self))
            return 1;
        for (size_t i = 0; i < self.vms.count; i++) {
            vm_t *vm = vec_at (&self.vms, i);
            char line [4096];
            s_format_seen (&self, &vm->next, line, sizeof line);
            printf ("%s %s\n", vm->name, line);
        }
        s_free_vms (&self);
        return 0;
    }

    self.out = stdout;
    if (out_path && !(self.out = fopen (out_path, "a"))) {
        fprintf (stderr, "lab_copycount: cannot open '%s': %s\n", out_path, strerror (errno));
        return 1;
    }
    struct sigaction action = { .sa_handler = lab_tool_on_signal };    // no SA_RESTART: sleeps end
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);

    struct timespec next;
    clock_gettime (CLOCK_MONOTONIC, &next);
    while (!lab_tool_stop) {
        if (s_sample (&self))
            return 1;
        next.tv_nsec += interval_ms * 1000000;
        while (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        //  Behind schedule (the machine was busy): the next sample one interval from now.
        int64_t next_ns = (int64_t) next.tv_sec * 1000000000 + next.tv_nsec;
        if (next_ns < lab_tool_now_ns (CLOCK_MONOTONIC)) {
            clock_gettime (CLOCK_MONOTONIC, &next);
            next.tv_nsec += interval_ms * 1000000;
            while (next.tv_nsec >= 1000000000) {
                next.tv_nsec -= 1000000000;
                next.tv_sec++;
            }
        }
        while (!lab_tool_stop && clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    int rc = s_sample (&self) ? 1: 0;      // the state at the moment it was stopped
    s_print_summary (&self, stdout);
    if (json_path && s_write_json (&self, json_path))
        rc = 1;
    if (self.out != stdout && fclose (self.out))
        rc = 1;
    s_free_vms (&self);
    return rc;
}
