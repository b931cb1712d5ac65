/*  fencer.c - the isolation response: a host without a lease kills its HA domains
    (see fencer.h).

    Owns one thread, the watchdog handle (opened, petted and closed by that thread only)
    and the list of processes killed since the fencer last latched. The agent's loop talks
    to it through three atomics (the lease's end, an unlatch request, and back the latched
    flag) and a condition variable that wakes it early; the loop never waits for the
    thread, and the thread never waits for the loop, libvirtd or the network: a pass reads
    files in /run, /proc and the cgroup tree and sends signals, nothing else.

    Sections: the domain XML (libxml2), processes (/proc, pidfds), machine cgroups, the
    scan that puts them together, kill passes, the thread, the API.
*/
#include "fencer.h"
#include "log.h"
#include "vec.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define S_PATH_SIZE       4096      // a path below run_dir or cgroup_root
#define S_CMDLINE_SIZE    65536     // of /proc/PID/cmdline, enough to reach "-name"
#define S_CGROUP_DEPTH    4         // scope/libvirt/emulator: how deep cgroup.procs are read
#define S_XML_DEPTH       16        // how deep <metadata> elements are looked for
#define S_PROBLEM_SIZE    512       // the first problem of a scan, for the log

//  One domain's status XML, as read by a scan.
typedef struct {
    char name [FENCER_NAME_SIZE];   // domain name (the file's name without ".xml")
    bool ha;                        // carries the HA marker
    long id;                        // <domain id='N'>, -1 when absent
} s_xml_t;

//  One process killed since the last latch: pid and start time, so a reused pid differs.
typedef struct {
    int pid;                        // process id
    unsigned long long start;       // /proc/PID/stat start time (clock ticks after boot)
} s_killed_t;

struct fencer_t {
    fencer_config_t config;         // copy of the caller's configuration
    pthread_t thread;               // runs s_thread
    bool started;                   // thread was created (join it on destroy)
    pthread_mutex_t lock;           // guards quit and wake, with cond
    pthread_cond_t cond;            // signalled to end the thread's wait early (monotonic)
    bool quit;                      // the thread must end
    bool wake;                      // the thread should poll now
    _Atomic int64_t connected_until;    // lease end, CLOCK_BOOTTIME ms (set by the loop)
    atomic_bool unlatch_requested;  // the loop asked to leave the latched state
    atomic_bool latched;            // lease ran out and no unlatch honoured since
    _Atomic uint64_t kills;         // processes killed, each once
    _Atomic uint64_t pets;          // successful pets
    pthread_mutex_t pass_lock;      // one kill pass at a time; guards found and killed
    vec_t found;                    // fencer_domain_t: scratch list of a pass
    vec_t killed;                   // s_killed_t: killed since the last latch
    watchdog_t *watchdog;           // thread only: open once there was something to pet
    int64_t last_pet_ms;            // thread only: last pet or open attempt, -1: pet now
    uint64_t open_failures;         // thread only: failed watchdog opens in a row
    uint64_t scan_problems;         // passes that met a problem (sampled log; pass_lock)
    uint64_t kill_failures;         // signals that failed (sampled log; pass_lock)
};

//  --------------------------------------------------------------------------
//  The domain XML

//  True when node is <vm xmlns=VMSCHED_XMLNS_VM ha="yes"/> (any prefix).
static bool
s_is_ha_marker (xmlNodePtr node)
{
    if (node->type != XML_ELEMENT_NODE || !node->ns || !node->ns->href
    ||  strcmp ((const char *) node->name, "vm") != 0
    ||  strcmp ((const char *) node->ns->href, VMSCHED_XMLNS_VM) != 0)
        return false;
    xmlChar *ha = xmlGetNoNsProp (node, BAD_CAST "ha");
    bool yes = ha && strcmp ((const char *) ha, "yes") == 0;
    xmlFree (ha);
    return yes;
}

//  Looks at the children of every <metadata> element at or below node (and its siblings).
static bool
s_has_ha_marker (xmlNodePtr node, int depth)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp ((const char *) node->name, "metadata") == 0)
            for (xmlNodePtr child = node->children; child; child = child->next)
                if (s_is_ha_marker (child))
                    return true;
        if (depth < S_XML_DEPTH && s_has_ha_marker (node->children, depth + 1))
            return true;
    }
    return false;
}

//  The <domain> element: the root, or the child of a <domstatus> root. NULL if neither.
static xmlNodePtr
s_domain_element (xmlNodePtr root)
{
    if (!root || root->type != XML_ELEMENT_NODE)
        return NULL;
    if (strcmp ((const char *) root->name, "domain") == 0)
        return root;
    if (strcmp ((const char *) root->name, "domstatus") != 0)
        return NULL;
    for (xmlNodePtr child = root->children; child; child = child->next)
        if (child->type == XML_ELEMENT_NODE && strcmp ((const char *) child->name, "domain") == 0)
            return child;
    return NULL;
}

//  Reads the XML file at path into *xml (ha, id). 0, or -1 when it cannot be parsed.
static int
s_read_xml (const char *path, s_xml_t *xml)
{
    xml->ha = false;
    xml->id = -1;
    xmlDocPtr doc = xmlReadFile (path, NULL,
                                 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return -1;
    xmlNodePtr root = xmlDocGetRootElement (doc);
    xml->ha = root && s_has_ha_marker (root, 0);
    xmlNodePtr domain = s_domain_element (root);
    xmlChar *id = domain? xmlGetNoNsProp (domain, BAD_CAST "id"): NULL;
    if (id) {
        char *end;
        errno = 0;
        long value = strtol ((const char *) id, &end, 10);
        if (!errno && end != (const char *) id && !*end && value >= 0)
            xml->id = value;
        xmlFree (id);
    }
    xmlFreeDoc (doc);
    return 0;
}

//  --------------------------------------------------------------------------
//  Processes

//  Reads the first size - 1 bytes at most of path into buf (NUL added). Bytes read, or -1.
static ssize_t
s_read_file (const char *path, char *buf, size_t size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    size_t used = 0;
    while (used + 1 < size) {
        ssize_t got = read (fd, buf + used, size - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        used += (size_t) got;
    }
    close (fd);
    buf [used] = 0;
    return (ssize_t) used;
}

//  Parses a decimal pid (surrounding white space allowed). The pid, or -1.
static int
s_parse_pid (const char *text)
{
    char *end;
    errno = 0;
    long pid = strtol (text, &end, 10);
    while (isspace ((unsigned char) *end))
        end++;
    if (errno || end == text || *end || pid <= 0 || pid > INT_MAX)
        return -1;
    return (int) pid;
}

//  The state (field 3 of /proc/PID/stat, 'Z' for a zombie) and start time (field 22)
//  of pid. 0, or -1 when it is gone.
static int
s_proc_stat (int pid, char *state, unsigned long long *start)
{
    char path [64], stat [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", pid);
    if (s_read_file (path, stat, sizeof stat) <= 0)
        return -1;
    const char *field = strrchr (stat, ')');        // the name may hold spaces and ')'
    if (!field || field [1] != ' ' || !field [2])
        return -1;
    *state = field [2];
    //  field is at the end of field 2; each step moves to the space before the next one.
    for (int number = 2; number < 22 && field; number++)
        field = strchr (field + 1, ' ');
    if (!field || sscanf (field + 1, "%llu", start) != 1)
        return -1;
    return 0;
}

//  The guest name a QEMU -name argument gives: "guest=NAME,..." or "NAME,..." with ",,"
//  standing for a comma. Into out (size bytes).
static void
s_qemu_name_value (const char *arg, char *out, size_t size)
{
    if (strncmp (arg, "guest=", 6) == 0)
        arg += 6;
    size_t used = 0;
    for (; *arg && used + 1 < size; arg++) {
        if (*arg == ',') {
            if (arg [1] != ',')
                break;
            arg++;
        }
        out [used++] = *arg;
    }
    out [used] = 0;
}

//  True when /proc/PID/cmdline is the QEMU of domain name: argv[0] contains "qemu" and
//  "-name" is followed by that name (libvirt: "-name guest=NAME,debug-threads=on").
static bool
s_is_qemu_of (int pid, const char *name)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/cmdline", pid);
    char *cmdline = malloc (S_CMDLINE_SIZE);
    if (!cmdline)
        return false;
    ssize_t length = s_read_file (path, cmdline, S_CMDLINE_SIZE);
    bool match = false;
    if (length > 0 && strstr (cmdline, "qemu")) {       // argv[0], up to its NUL
        const char *end = cmdline + length;
        const char *arg = cmdline + strlen (cmdline) + 1;
        while (arg < end && !match) {
            const char *next = arg + strlen (arg) + 1;
            if (strcmp (arg, "-name") == 0 && next < end) {
                char value [FENCER_NAME_SIZE + 1];
                s_qemu_name_value (next, value, sizeof value);
                match = strcmp (value, name) == 0;
            }
            arg = next;
        }
    }
    free (cmdline);
    return match;
}

//  Set once pidfd_open said ENOSYS (kernel before 5.3, or valgrind before 3.20): asked
//  no more. The one piece of process-wide state here, and only a cache of a fact.
static atomic_bool s_no_pidfd;

//  A pidfd for pid (closed by the caller), or -1 with errno (ENOSYS: the kernel or a
//  tool such as valgrind has none; the caller then signals by pid).
static int
s_pidfd_open (int pid)
{
#ifdef SYS_pidfd_open
    if (atomic_load (&s_no_pidfd)) {
        errno = ENOSYS;
        return -1;
    }
    int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
    if (pidfd < 0 && errno == ENOSYS)
        atomic_store (&s_no_pidfd, true);
    return pidfd;
#else
    (void) pid;
    errno = ENOSYS;
    return -1;
#endif
}

//  SIGKILL through pidfd when there is one (it can only reach the process it was opened
//  on), else by pid. 0, or -1 with errno.
static int
s_send_kill (int pidfd, int pid)
{
#ifdef SYS_pidfd_send_signal
    if (pidfd >= 0)
        return (int) syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
#endif
    return kill (pid, SIGKILL);
}

//  --------------------------------------------------------------------------
//  Machine cgroups

//  The letters and digits of text, in order, into out (size bytes): what survives of a
//  domain name in libvirt's machine name whatever its version does with '-' and '.'.
static void
s_alnum (const char *text, char *out, size_t size)
{
    size_t used = 0;
    for (; *text && used + 1 < size; text++)
        if (isalnum ((unsigned char) *text))
            out [used++] = *text;
    out [used] = 0;
}

//  Undoes systemd's unit name escaping (\xHH) of text into out (size bytes).
static void
s_unescape (const char *text, char *out, size_t size)
{
    size_t used = 0;
    while (*text && used + 1 < size) {
        unsigned int code;
        if (text [0] == '\\' && text [1] == 'x' && isxdigit ((unsigned char) text [2])
        &&  isxdigit ((unsigned char) text [3]) && sscanf (text + 2, "%2x", &code) == 1) {
            out [used++] = (char) code;
            text += 4;
        }
        else
            out [used++] = *text++;
    }
    out [used] = 0;
}

//  The domain (among xmls) whose machine cgroup directory is entry, or NULL. Layouts:
//  "machine-qemu\x2dID\x2dNAME.scope" (systemd; NAME as libvirt's machine name keeps it:
//  letters, digits, single '-' and '.', at most 64 characters in all) and
//  "NAME.libvirt-qemu" or "_NAME.libvirt-qemu" (cgroup v1 without systemd).
static const s_xml_t *
s_cgroup_domain (const char *entry, const vec_t *xmls)
{
    size_t length = strlen (entry);
    const char *v1_suffix = ".libvirt-qemu";
    if (length > strlen (v1_suffix) && strcmp (entry + length - strlen (v1_suffix), v1_suffix) == 0) {
        char name [FENCER_NAME_SIZE + 1];
        snprintf (name, sizeof name, "%.*s", (int) (length - strlen (v1_suffix)), entry);
        for (size_t i = 0; i < xmls->count; i++) {
            const s_xml_t *xml = vec_at (xmls, i);
            if (strcmp (name, xml->name) == 0 || (name [0] == '_' && strcmp (name + 1, xml->name) == 0))
                return xml;
        }
        return NULL;
    }
    const char *prefix = "machine-", *suffix = ".scope";
    if (length <= strlen (prefix) + strlen (suffix) || strncmp (entry, prefix, strlen (prefix)) != 0
    ||  strcmp (entry + length - strlen (suffix), suffix) != 0)
        return NULL;
    char escaped [FENCER_NAME_SIZE * 4], machine [FENCER_NAME_SIZE * 4];
    snprintf (escaped, sizeof escaped, "%.*s", (int) (length - strlen (prefix) - strlen (suffix)),
              entry + strlen (prefix));
    s_unescape (escaped, machine, sizeof machine);
    if (strncmp (machine, "qemu-", 5) != 0)
        return NULL;
    const char *rest = machine + 5;
    long id = -1;
    if (isdigit ((unsigned char) *rest)) {
        char *end;
        long value = strtol (rest, &end, 10);
        if (*end == '-') {
            id = value;
            rest = end + 1;
        }
    }
    char wanted [FENCER_NAME_SIZE * 4];
    s_alnum (rest, wanted, sizeof wanted);
    if (!wanted [0])
        return NULL;
    for (size_t i = 0; i < xmls->count; i++) {
        const s_xml_t *xml = vec_at (xmls, i);
        char have [FENCER_NAME_SIZE];
        s_alnum (xml->name, have, sizeof have);
        //  With both ids known they must agree, and the machine name may be truncated;
        //  without, the names must agree.
        bool match = id >= 0 && xml->id >= 0
                   ? id == xml->id && strncmp (have, wanted, strlen (wanted)) == 0
                   : strcmp (have, wanted) == 0;
        if (match)
            return xml;
    }
    return NULL;
}

//  A scan in the making: where entries go and the first problem met.
typedef struct {
    vec_t *out;                     // fencer_domain_t entries
    char problem [S_PROBLEM_SIZE];  // first problem ("" none)
    bool out_of_memory;             // an entry could not be stored
} s_scan_t;

static void
s_problem (s_scan_t *scan, const char *what, const char *path)
{
    if (!scan->problem [0])
        snprintf (scan->problem, sizeof scan->problem, "cannot read %s '%.300s': %s", what, path,
                  strerror (errno));
}

static void
s_add (s_scan_t *scan, const char *name, int pid, bool ha, bool verified,
       fencer_source_t source)
{
    for (size_t i = 0; i < scan->out->count; i++) {     // v1 lists a pid per controller
        const fencer_domain_t *seen = vec_at (scan->out, i);
        if (seen->pid == pid && seen->source == source && strcmp (seen->name, name) == 0)
            return;
    }
    fencer_domain_t entry = { .pid = pid, .ha = ha, .verified = verified, .source = source };
    snprintf (entry.name, sizeof entry.name, "%s", name);
    if (!vec_push (scan->out, &entry))
        scan->out_of_memory = true;
}

//  Adds the pids of every cgroup.procs at or below dir (depth levels deep) for domain xml.
static void
s_cgroup_procs (s_scan_t *scan, const char *dir, int depth, const s_xml_t *xml)
{
    char path [S_PATH_SIZE];
    if (snprintf (path, sizeof path, "%s/cgroup.procs", dir) >= (int) sizeof path)
        return;
    FILE *procs = fopen (path, "re");
    if (procs) {
        char line [64];
        while (fgets (line, sizeof line, procs)) {
            int pid = s_parse_pid (line);
            if (pid > 0)
                s_add (scan, xml->name, pid, xml->ha, true, FENCER_FROM_CGROUP);
        }
        fclose (procs);
    }
    else
    if (errno != ENOENT && errno != EOPNOTSUPP)     // a threaded cgroup lists no procs
        s_problem (scan, "cgroup", path);
    if (depth <= 0)
        return;
    DIR *entries = opendir (dir);
    if (!entries)
        return;
    struct dirent *entry;
    while ((entry = readdir (entries))) {
        if (entry->d_name [0] == '.'
        ||  snprintf (path, sizeof path, "%s/%s", dir, entry->d_name) >= (int) sizeof path)
            continue;
        struct stat info;
        bool is_dir = entry->d_type == DT_DIR
                   || (entry->d_type == DT_UNKNOWN && lstat (path, &info) == 0 && S_ISDIR (info.st_mode));
        if (is_dir)
            s_cgroup_procs (scan, path, depth - 1, xml);
    }
    closedir (entries);
}

//  Adds the processes of the domains (known by their XML) whose cgroups are in base
//  (a machine.slice or machine directory).
static void
s_cgroup_base (s_scan_t *scan, const char *base, const vec_t *xmls)
{
    DIR *entries = opendir (base);
    if (!entries) {
        if (errno != ENOENT && errno != ENOTDIR)
            s_problem (scan, "cgroup directory", base);
        return;
    }
    struct dirent *entry;
    char path [S_PATH_SIZE];
    while ((entry = readdir (entries))) {
        if (entry->d_name [0] == '.')
            continue;
        const s_xml_t *xml = s_cgroup_domain (entry->d_name, xmls);
        if (xml && snprintf (path, sizeof path, "%s/%s", base, entry->d_name) < (int) sizeof path)
            s_cgroup_procs (scan, path, S_CGROUP_DEPTH, xml);
    }
    closedir (entries);
}

//  Every machine cgroup below root: root/machine.slice and root/machine (cgroup v2, or
//  v1 with the hierarchy given as root), and the same below each directory of root (the
//  controllers of cgroup v1: root/memory/machine.slice ...).
static void
s_cgroups (s_scan_t *scan, const char *root, const vec_t *xmls)
{
    static const char *bases [] = { "machine.slice", "machine" };
    char path [S_PATH_SIZE];
    for (size_t i = 0; i < 2; i++)
        if (snprintf (path, sizeof path, "%s/%s", root, bases [i]) < (int) sizeof path)
            s_cgroup_base (scan, path, xmls);
    DIR *entries = opendir (root);
    if (!entries) {
        if (errno != ENOENT)
            s_problem (scan, "cgroup root", root);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir (entries))) {
        const char *name = entry->d_name;
        if (name [0] == '.' || strcmp (name, "machine.slice") == 0 || strcmp (name, "machine") == 0
        ||  (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN))
            continue;
        for (size_t i = 0; i < 2; i++)
            if (snprintf (path, sizeof path, "%s/%s/%s", root, name, bases [i]) < (int) sizeof path)
                s_cgroup_base (scan, path, xmls);
    }
    closedir (entries);
}

//  --------------------------------------------------------------------------
//  The scan

//  True when name ends in suffix; then *stem_length is the length before it.
static bool
s_has_suffix (const char *name, const char *suffix, size_t *stem_length)
{
    size_t length = strlen (name), tail = strlen (suffix);
    if (length <= tail || strcmp (name + length - tail, suffix) != 0)
        return false;
    *stem_length = length - tail;
    return true;
}

//  Lists every domain process into out (fencer_domain_t, appended). 0, or -1 when out of
//  memory; problem (problem_size bytes) gets the first unreadable thing ("" none).
static int
s_collect (const fencer_config_t *config, vec_t *out, char *problem, size_t problem_size)
{
    s_scan_t scan = { .out = out };
    vec_t xmls = VEC_OF (s_xml_t);
    vec_t pidfiles = VEC_OF (s_xml_t);          // only the names are used
    char path [S_PATH_SIZE];
    DIR *entries = opendir (config->run_dir);
    if (entries) {
        struct dirent *entry;
        while ((entry = readdir (entries))) {
            size_t stem;
            s_xml_t item = { .id = -1 };
            bool is_xml = s_has_suffix (entry->d_name, ".xml", &stem);
            if ((!is_xml && !s_has_suffix (entry->d_name, ".pid", &stem))
            ||  stem >= sizeof item.name)
                continue;
            snprintf (item.name, sizeof item.name, "%.*s", (int) stem, entry->d_name);
            if (is_xml) {
                snprintf (path, sizeof path, "%s/%s", config->run_dir, entry->d_name);
                if (s_read_xml (path, &item) < 0 && !scan.problem [0])
                    snprintf (scan.problem, sizeof scan.problem,
                              "cannot parse the status XML '%.300s' (counted as not HA)", path);
            }
            if (!vec_push (is_xml? &xmls: &pidfiles, &item))
                scan.out_of_memory = true;
        }
        closedir (entries);
    }
    else
    if (errno != ENOENT)
        s_problem (&scan, "libvirt's run directory", config->run_dir);

    for (size_t i = 0; i < pidfiles.count; i++) {
        const s_xml_t *pidfile = vec_at (&pidfiles, i);
        bool ha = false;
        for (size_t j = 0; j < xmls.count; j++) {
            const s_xml_t *xml = vec_at (&xmls, j);
            if (strcmp (xml->name, pidfile->name) == 0)
                ha = xml->ha;
        }
        char text [64];
        snprintf (path, sizeof path, "%s/%s.pid", config->run_dir, pidfile->name);
        int pid = s_read_file (path, text, sizeof text) > 0? s_parse_pid (text): -1;
        if (pid > 0)
            s_add (&scan, pidfile->name, pid, ha, s_is_qemu_of (pid, pidfile->name),
                   FENCER_FROM_PIDFILE);
    }
    s_cgroups (&scan, config->cgroup_root, &xmls);
    vec_free (&xmls);
    vec_free (&pidfiles);
    if (problem_size)
        snprintf (problem, problem_size, "%s", scan.problem);
    return scan.out_of_memory? -1: 0;
}

//  --------------------------------------------------------------------------
//  Kill passes

//  SIGKILLs entry's process unless it was killed already or is not what it claims.
//  1 killed, 0 nothing done, -1 the signal failed (logged, sampled).
static int
s_kill (fencer_t *self, const fencer_domain_t *entry)
{
    if (entry->pid <= 1 || entry->pid == getpid ())
        return 0;
    int pidfd = s_pidfd_open (entry->pid);
    if (pidfd < 0 && errno == ESRCH)
        return 0;
    //  With a pidfd open, what /proc says below is about this process or the pidfd no
    //  longer reaches anything: the check and the kill cannot hit different processes.
    unsigned long long start;
    char state;
    int rc = 0;
    if (s_proc_stat (entry->pid, &state, &start) < 0 || state == 'Z' || state == 'X')
        goto done;                              // gone, or dead and not yet reaped
    for (size_t i = 0; i < self->killed.count; i++) {
        const s_killed_t *killed = vec_at (&self->killed, i);
        if (killed->pid == entry->pid && killed->start == start)
            goto done;
    }
    if (entry->source == FENCER_FROM_PIDFILE && !s_is_qemu_of (entry->pid, entry->name))
        goto done;
    if (s_send_kill (pidfd, entry->pid) < 0) {
        if (errno != ESRCH) {
            if (log_sampled (++self->kill_failures))
                log_error ("fencer: cannot kill HA domain '%s' (pid %d): %s (%" PRIu64
                           " failed kills)", entry->name, entry->pid, strerror (errno),
                           self->kill_failures);
            rc = -1;
        }
        goto done;
    }
    s_killed_t killed = { entry->pid, start };
    vec_push (&self->killed, &killed);          // if this fails, the next pass logs again
    atomic_fetch_add (&self->kills, 1);
    log_warn ("fencer: killed HA domain '%s' (SIGKILL to pid %d, found in its %s)",
              entry->name, entry->pid,
              entry->source == FENCER_FROM_PIDFILE? "pidfile": "machine cgroup");
    rc = 1;
done:
    if (pidfd >= 0)
        close (pidfd);
    return rc;
}

//  One pass: scan, kill every HA process found. Caller holds pass_lock. Killed, or -1.
static int
s_kill_pass (fencer_t *self)
{
    char problem [S_PROBLEM_SIZE];
    vec_clear (&self->found);
    int rc = s_collect (&self->config, &self->found, problem, sizeof problem);
    if (problem [0] && log_sampled (++self->scan_problems))
        log_error ("fencer: %s (%" PRIu64 " passes with problems)", problem, self->scan_problems);
    if (rc < 0) {
        log_error ("fencer: cannot list domains: out of memory");
        return -1;
    }
    int killed = 0;
    for (size_t i = 0; i < self->found.count; i++) {
        const fencer_domain_t *entry = vec_at (&self->found, i);
        if (entry->ha && entry->verified && s_kill (self, entry) == 1)
            killed++;
    }
    return killed;
}

//  --------------------------------------------------------------------------
//  The thread

static int64_t
s_boottime_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_BOOTTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Pets the watchdog when one is configured and the pet interval has passed, opening it
//  first if this is the first pet.
static void
s_pet (fencer_t *self, int64_t now)
{
    if (!watchdog_configured (&self->config.watchdog)
    ||  (self->last_pet_ms >= 0 && now - self->last_pet_ms < self->config.pet_ms))
        return;
    self->last_pet_ms = now;
    if (!self->watchdog) {
        char err [WATCHDOG_PATH_SIZE + 256];
        self->watchdog = watchdog_open (&self->config.watchdog, err, sizeof err);
        if (!self->watchdog) {
            if (log_sampled (++self->open_failures))
                log_error ("fencer: %s (%" PRIu64 " attempts)", err, self->open_failures);
            return;
        }
        self->open_failures = 0;
    }
    if (watchdog_pet (self->watchdog) == 0)
        atomic_fetch_add (&self->pets, 1);
}

//  One poll: latch, unlatch, pet or kill as the lease says.
static void
s_poll (fencer_t *self)
{
    int64_t now = s_boottime_ms ();
    int64_t until = atomic_load (&self->connected_until);
    bool latched = atomic_load (&self->latched);
    if (atomic_exchange (&self->unlatch_requested, false) && latched) {
        if (now < until) {
            pthread_mutex_lock (&self->pass_lock);
            vec_clear (&self->killed);
            pthread_mutex_unlock (&self->pass_lock);
            self->last_pet_ms = -1;
            latched = false;
            atomic_store (&self->latched, false);
            log_info ("fencer: unlatched (the host registered again and holds a lease)");
        }
        else
            atomic_store (&self->unlatch_requested, true);   // wait for the lease
    }
    if (!latched && now >= until) {
        latched = true;
        atomic_store (&self->latched, true);
        atomic_store (&self->unlatch_requested, false);
        char what [WATCHDOG_PATH_SIZE + 16];
        watchdog_describe (&self->config.watchdog, what, sizeof what);
        if (until > 0)
            log_error ("fencer: lease ended %" PRId64 " ms ago: latched; killing HA domains, "
                       "not petting watchdog '%s'", now - until, what);
        else
            log_error ("fencer: no lease held: latched; killing HA domains, not petting "
                       "watchdog '%s'", what);
    }
    if (latched) {
        pthread_mutex_lock (&self->pass_lock);
        s_kill_pass (self);
        pthread_mutex_unlock (&self->pass_lock);
    }
    else
        s_pet (self, now);
}

static void *
s_thread (void *arg)
{
    fencer_t *self = arg;
    pthread_mutex_lock (&self->lock);
    while (!self->quit) {
        pthread_mutex_unlock (&self->lock);
        s_poll (self);
        struct timespec deadline;
        clock_gettime (CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += self->config.poll_ms / 1000;
        deadline.tv_nsec += (long) (self->config.poll_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock (&self->lock);
        while (!self->quit && !self->wake)
            if (pthread_cond_timedwait (&self->cond, &self->lock, &deadline) == ETIMEDOUT)
                break;
        self->wake = false;
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

//  --------------------------------------------------------------------------
//  The API

void
fencer_config_defaults (fencer_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->watchdog.kind = WATCHDOG_NONE;
    snprintf (config->run_dir, sizeof config->run_dir, "%s", FENCER_RUN_DIR);
    snprintf (config->cgroup_root, sizeof config->cgroup_root, "%s", FENCER_CGROUP_ROOT);
    config->poll_ms = FENCER_POLL_MS;
    config->pet_ms = FENCER_PET_MS;
    config->connected_until_ms = 0;
}

int
fencer_config_check (const fencer_config_t *config, char *err, size_t err_size)
{
    if (config->poll_ms < 1 || config->poll_ms > 10000) {
        snprintf (err, err_size, "invalid fencer poll interval %d ms: expected 1 .. 10000",
                  config->poll_ms);
        return -1;
    }
    if (config->pet_ms < 1 || config->pet_ms > 600000) {
        snprintf (err, err_size, "invalid watchdog pet interval %d ms: expected 1 .. 600000",
                  config->pet_ms);
        return -1;
    }
    const char *dirs [] = { config->run_dir, config->cgroup_root };
    const char *what [] = { "libvirt run directory", "cgroup root" };
    for (size_t i = 0; i < 2; i++)
        if (dirs [i][0] != '/' || !memchr (dirs [i], 0, FENCER_PATH_SIZE)) {
            snprintf (err, err_size, "invalid fencer %s '%.*s': expected an absolute path",
                      what [i], 200, dirs [i]);
            return -1;
        }
    if (watchdog_configured (&config->watchdog) && config->watchdog.path [0] != '/') {
        snprintf (err, err_size, "invalid watchdog path '%.*s': expected an absolute path",
                  200, config->watchdog.path);
        return -1;
    }
    return 0;
}

size_t
fencer_scan (const fencer_config_t *config, fencer_domain_t *out, size_t max)
{
    xmlInitParser ();
    vec_t found = VEC_OF (fencer_domain_t);
    s_collect (config, &found, NULL, 0);
    for (size_t i = 0; i < found.count && i < max; i++)
        out [i] = *(fencer_domain_t *) vec_at (&found, i);
    size_t count = found.count;
    vec_free (&found);
    return count;
}

fencer_t *
fencer_new (const fencer_config_t *config, char *err, size_t err_size)
{
    if (fencer_config_check (config, err, err_size) < 0)
        return NULL;
    xmlInitParser ();           // before the thread parses (not thread safe the first time)
    fencer_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "cannot start the fencer: out of memory");
        return NULL;
    }
    self->config = *config;
    self->found = VEC_OF (fencer_domain_t);
    self->killed = VEC_OF (s_killed_t);
    self->last_pet_ms = -1;
    atomic_init (&self->connected_until, config->connected_until_ms);
    atomic_init (&self->unlatch_requested, false);
    atomic_init (&self->latched, false);
    atomic_init (&self->kills, 0);
    atomic_init (&self->pets, 0);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_mutex_init (&self->lock, NULL);
    pthread_mutex_init (&self->pass_lock, NULL);
    pthread_cond_init (&self->cond, &attr);
    pthread_condattr_destroy (&attr);
    int rc = pthread_create (&self->thread, NULL, s_thread, self);
    if (rc != 0) {
        snprintf (err, err_size, "cannot start the fencer thread: %s", strerror (rc));
        fencer_destroy (&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void
fencer_destroy (fencer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fencer_t *self = *self_p;
    if (self->started) {
        pthread_mutex_lock (&self->lock);
        self->quit = true;
        pthread_cond_signal (&self->cond);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->thread, NULL);
    }
    watchdog_close (&self->watchdog);           // no magic close: see watchdog.h
    vec_free (&self->found);
    vec_free (&self->killed);
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->lock);
    pthread_mutex_destroy (&self->pass_lock);
    free (self);
    *self_p = NULL;
}

void
fencer_set_connected_until (fencer_t *self, int64_t until_ms)
{
    atomic_store (&self->connected_until, until_ms);
}

void
fencer_unlatch (fencer_t *self)
{
    atomic_store (&self->unlatch_requested, true);
    pthread_mutex_lock (&self->lock);
    self->wake = true;
    pthread_cond_signal (&self->cond);
    pthread_mutex_unlock (&self->lock);
}

bool
fencer_latched (const fencer_t *self)
{
    return atomic_load (&self->latched);
}

uint64_t
fencer_kills (const fencer_t *self)
{
    return atomic_load (&self->kills);
}

uint64_t
fencer_pets (const fencer_t *self)
{
    return atomic_load (&self->pets);
}

int
fencer_kill_ha_now (fencer_t *self)
{
    pthread_mutex_lock (&self->pass_lock);
    int killed = s_kill_pass (self);
    pthread_mutex_unlock (&self->pass_lock);
    return killed;
}
