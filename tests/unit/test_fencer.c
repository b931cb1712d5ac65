/*  test_fencer.c - the isolation response against real processes, pidfiles and XML.

    Each case builds a fake libvirt run directory and a fake cgroup tree in a temporary
    directory and starts real processes that look like QEMU to /proc: /bin/sh running the
    builtin `read` on a pipe, with argv = { "qemu-system-x86_64", "-c", "read line",
    "qemu-system-x86_64", "-name", "guest=NAME,debug-threads=on" }, so /proc/PID/cmdline is
    what libvirt's QEMU shows. A child whose test dies reads EOF on its pipe and ends, so
    none outlives the test; each case kills and reaps its children at the end anyway.
    Whether a child died is asked with waitid (WNOWAIT), leaving it a zombie until the
    fencer is gone, so its pid cannot be reused while a fencer might still look at it.
    Never uses the real /run/libvirt/qemu or /sys/fs/cgroup.
*/
#include "check.h"
#include "fencer.h"
#include "fixture_files.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_CHILDREN 16

//  One case's world: directories and the children started in it.
typedef struct {
    char dir [256];                 // the temporary directory
    char run [300];                 // dir/run: the fake libvirt run directory
    char cgroup [300];              // dir/cgroup: the fake cgroup root
    char watchdog [300];            // dir/watchdog: the watchdog file
    pid_t pids [S_MAX_CHILDREN];    // children started
    int pipes [S_MAX_CHILDREN];     // write end of each child's stdin
    int count;                      // children started
} s_env_t;

//  --------------------------------------------------------------------------
//  Log capture: the fencer's thread logs through the sink too

static pthread_mutex_t s_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_log [65536];          // every line logged since s_log_reset
static size_t s_log_used;

static void
s_sink (void *arg, log_level_t level, const char *message)
{
    (void) arg;
    (void) level;
    pthread_mutex_lock (&s_log_lock);
    int length = snprintf (s_log + s_log_used, sizeof s_log - s_log_used, "%s\n", message);
    if (length > 0 && s_log_used + (size_t) length < sizeof s_log)
        s_log_used += (size_t) length;
    pthread_mutex_unlock (&s_log_lock);
    if (getenv ("VMSCHED_TEST_LOG"))
        fprintf (stderr, "  log: %s\n", message);
}

static void
s_log_reset (void)
{
    pthread_mutex_lock (&s_log_lock);
    s_log_used = 0;
    s_log [0] = 0;
    pthread_mutex_unlock (&s_log_lock);
}

//  How many logged lines contain text.
static int
s_log_count (const char *text)
{
    int count = 0;
    pthread_mutex_lock (&s_log_lock);
    for (const char *at = strstr (s_log, text); at; at = strstr (at + 1, text))
        count++;
    pthread_mutex_unlock (&s_log_lock);
    return count;
}

//  --------------------------------------------------------------------------
//  Time and processes

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_BOOTTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
        ;
}

//  True while the child has not ended (it is not reaped: see the file's comment).
static bool
s_alive (pid_t pid)
{
    siginfo_t info;
    memset (&info, 0, sizeof info);
    if (waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return false;
    return info.si_pid == 0;
}

//  Waits up to ms for the child to end. True when it did.
static bool
s_wait_dead (pid_t pid, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        if (!s_alive (pid))
            return true;
        s_sleep_ms (10);
    }
    return !s_alive (pid);
}

//  The child ended by SIGKILL (after s_wait_dead).
static bool
s_killed_by_sigkill (pid_t pid)
{
    siginfo_t info;
    memset (&info, 0, sizeof info);
    return waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0
        && info.si_pid == pid && info.si_code == CLD_KILLED && info.si_status == SIGKILL;
}

//  Starts a child that looks like libvirt's QEMU for domain name (NULL: a plain sh that
//  does not). Waits until its exec is visible in /proc. The pid, or -1.
static pid_t
s_spawn (s_env_t *env, const char *name)
{
    if (env->count >= S_MAX_CHILDREN)
        return -1;
    int fds [2];
    if (pipe2 (fds, O_CLOEXEC) < 0)
        return -1;
    char guest [FENCER_NAME_SIZE + 64];
    snprintf (guest, sizeof guest, "guest=%s,debug-threads=on", name? name: "");
    const char *argv0 = name? "qemu-system-x86_64": "sh";
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (fds [0], 0);
        if (name)
            execl ("/bin/sh", argv0, "-c", "read line", argv0, "-name", guest, (char *) NULL);
        else
            execl ("/bin/sh", argv0, "-c", "read line", (char *) NULL);
        _exit (127);
    }
    close (fds [0]);
    if (pid < 0) {
        close (fds [1]);
        return -1;
    }
    env->pids [env->count] = pid;
    env->pipes [env->count] = fds [1];
    env->count++;
    char path [64], cmdline [256] = "";
    snprintf (path, sizeof path, "/proc/%d/cmdline", (int) pid);
    for (int waited = 0; waited < 2000; waited += 5) {
        int fd = open (path, O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0? read (fd, cmdline, sizeof cmdline - 1): -1;
        if (fd >= 0)
            close (fd);
        if (got > 0) {
            cmdline [got] = 0;
            if (strcmp (cmdline, argv0) == 0)       // argv[0], up to its NUL
                return pid;
        }
        s_sleep_ms (5);
    }
    return pid;                 // the checks that follow will say what is wrong
}

//  --------------------------------------------------------------------------
//  The fake libvirt world

static int
s_env_start (s_env_t *env)
{
    memset (env, 0, sizeof *env);
    s_log_reset ();
    if (fixture_files_tempdir (env->dir, sizeof env->dir, "fencer") < 0)
        return -1;
    snprintf (env->run, sizeof env->run, "%s/run", env->dir);
    snprintf (env->cgroup, sizeof env->cgroup, "%s/cgroup", env->dir);
    snprintf (env->watchdog, sizeof env->watchdog, "%s/watchdog", env->dir);
    return mkdir (env->run, 0700) == 0 && mkdir (env->cgroup, 0700) == 0? 0: -1;
}

//  Kills and reaps every child, removes the directory.
static void
s_env_end (s_env_t *env)
{
    for (int i = 0; i < env->count; i++) {
        kill (env->pids [i], SIGKILL);
        waitpid (env->pids [i], NULL, 0);
        close (env->pipes [i]);
    }
    env->count = 0;
    if (env->dir [0])
        fixture_files_remove_dir (env->dir);
}

static int
s_write_pidfile (const s_env_t *env, const char *name, pid_t pid)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s.pid", env->run, name);
    return fixture_files_writef (path, "%d", (int) pid);     // libvirt: no newline
}

//  What a domain's XML says about HA.
typedef enum {
    S_HA_STATUS,            // status XML (<domstatus><domain id=..>), prefixed HA marker
    S_HA_PLAIN,             // plain <domain>, marker in the default namespace
    S_NOT_HA,               // marker with ha="no"
    S_WRONG_NS,             // ha="yes" in another namespace
    S_OUTSIDE_METADATA,     // the marker, but not in <metadata>
    S_BROKEN                // not XML at all
} s_xml_kind_t;

static int
s_write_xml (const s_env_t *env, const char *name, int id, s_xml_kind_t kind)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s.xml", env->run, name);
    switch (kind) {
        case S_HA_STATUS:
            return fixture_files_writef (path,
                "<!-- WARNING: THIS IS AN AUTO-GENERATED FILE -->\n"
                "<domstatus state='running' reason='booted' pid='1'>\n"
                "  <monitor path='/var/lib/libvirt/qemu/domain-%d-%s/monitor.sock' type='unix'/>\n"
                "  <domain type='kvm' id='%d'>\n"
                "    <name>%s</name>\n"
                "    <metadata>\n"
                "      <other:thing xmlns:other='urn:example'/>\n"
                "      <vs:vm xmlns:vs=\"" VMSCHED_XMLNS_VM "\" ha=\"yes\"/>\n"
                "    </metadata>\n"
                "    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>\n"
                "  </domain>\n"
                "</domstatus>\n", id, name, id, name);
        case S_HA_PLAIN:
            return fixture_files_writef (path,
                "<domain type='kvm'><name>%s</name><metadata>"
                "<vm xmlns='" VMSCHED_XMLNS_VM "' ha='yes'/></metadata></domain>\n", name);
        case S_NOT_HA:
            return fixture_files_writef (path,
                "<domstatus><domain type='kvm' id='%d'><name>%s</name><metadata>"
                "<vm xmlns='" VMSCHED_XMLNS_VM "' ha='no'/></metadata></domain></domstatus>\n",
                id, name);
        case S_WRONG_NS:
            return fixture_files_writef (path,
                "<domain type='kvm' id='%d'><name>%s</name><metadata>"
                "<vm xmlns='https://vmsched.dev/xmlns/vm/2' ha='yes'/><vm ha='yes'/>"
                "</metadata></domain>\n", id, name);
        case S_OUTSIDE_METADATA:
            return fixture_files_writef (path,
                "<domain type='kvm' id='%d'><name>%s</name>"
                "<vm xmlns='" VMSCHED_XMLNS_VM "' ha='yes'/><metadata/></domain>\n", id, name);
        case S_BROKEN:
            return fixture_files_writef (path, "<domstatus><domain><metadata><vm xmlns='"
                                         VMSCHED_XMLNS_VM "' ha='yes'/>\n");
    }
    return -1;
}

//  Writes pid into dir/cgroup.procs (dir created with its parents, below env->cgroup).
static int
s_write_cgroup (const s_env_t *env, const char *relative, pid_t pid)
{
    char path [1200];
    snprintf (path, sizeof path, "%s/%s", env->cgroup, relative);
    for (char *slash = path + strlen (env->cgroup) + 1; (slash = strchr (slash, '/')); slash++) {
        *slash = 0;
        mkdir (path, 0700);
        *slash = '/';
    }
    mkdir (path, 0700);
    strcat (path, "/cgroup.procs");
    return pid > 0? fixture_files_writef (path, "%d\n", (int) pid): fixture_files_write (path, "");
}

static void
s_config (const s_env_t *env, fencer_config_t *config, int64_t connected_until_ms)
{
    fencer_config_defaults (config);
    snprintf (config->run_dir, sizeof config->run_dir, "%s", env->run);
    snprintf (config->cgroup_root, sizeof config->cgroup_root, "%s", env->cgroup);
    config->watchdog.kind = WATCHDOG_FILE;
    snprintf (config->watchdog.path, sizeof config->watchdog.path, "%s", env->watchdog);
    config->poll_ms = 20;
    config->pet_ms = 100;
    config->connected_until_ms = connected_until_ms;
}

static const fencer_domain_t *
s_find (const fencer_domain_t *found, size_t count, const char *name, fencer_source_t source)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp (found [i].name, name) == 0 && found [i].source == source)
            return &found [i];
    return NULL;
}

static int64_t
s_mtime_ns (const char *path)
{
    struct stat info;
    if (stat (path, &info) < 0)
        return -1;
    return (int64_t) info.st_mtim.tv_sec * 1000000000 + info.st_mtim.tv_nsec;
}

static bool
s_wait_latched (fencer_t *fencer, bool wanted, int ms)
{
    for (int waited = 0; waited < ms && fencer_latched (fencer) != wanted; waited += 10)
        s_sleep_ms (10);
    return fencer_latched (fencer) == wanted;
}

static bool
s_wait_pets (fencer_t *fencer, uint64_t above, int ms)
{
    for (int waited = 0; waited < ms && fencer_pets (fencer) <= above; waited += 10)
        s_sleep_ms (10);
    return fencer_pets (fencer) > above;
}

//  The processes of the usual world, and their files.
typedef struct {
    pid_t web;              // web-1: HA, pidfile and status XML
    pid_t db;               // db-1: not HA (ha="no"), pidfile
    pid_t victim;           // a plain sh: stale-1's pidfile points at it
    pid_t other;            // QEMU of web-2 (not HA): reused-1's pidfile points at it
    pid_t cg;               // cg-1: HA, no pidfile, systemd machine cgroup
    pid_t v1;               // v1-1: HA, no pidfile, cgroup v1 layout under two controllers
} s_world_t;

static int
s_world (s_env_t *env, s_world_t *world)
{
    int failures = 0;
    world->web = s_spawn (env, "web-1");
    world->db = s_spawn (env, "db-1");
    world->victim = s_spawn (env, NULL);
    world->other = s_spawn (env, "web-2");
    world->cg = s_spawn (env, "cg-1");
    world->v1 = s_spawn (env, "v1-1");
    CHECK (world->web > 0 && world->db > 0 && world->victim > 0 && world->other > 0
        && world->cg > 0 && world->v1 > 0);

    CHECK (s_write_pidfile (env, "web-1", world->web) == 0);
    CHECK (s_write_xml (env, "web-1", 3, S_HA_STATUS) == 0);
    CHECK (s_write_pidfile (env, "db-1", world->db) == 0);
    CHECK (s_write_xml (env, "db-1", 4, S_NOT_HA) == 0);
    CHECK (s_write_pidfile (env, "stale-1", world->victim) == 0);
    CHECK (s_write_xml (env, "stale-1", 5, S_HA_STATUS) == 0);
    CHECK (s_write_pidfile (env, "reused-1", world->other) == 0);
    CHECK (s_write_xml (env, "reused-1", 6, S_HA_PLAIN) == 0);
    CHECK (s_write_pidfile (env, "self-1", getpid ()) == 0);      // the test itself
    CHECK (s_write_xml (env, "self-1", 8, S_HA_PLAIN) == 0);
    CHECK (s_write_xml (env, "web-2", 9, S_WRONG_NS) == 0);
    CHECK (s_write_xml (env, "cg-1", 7, S_HA_STATUS) == 0);
    CHECK (s_write_cgroup (env, "machine.slice/machine-qemu\\x2d7\\x2dcg\\x2d1.scope", 0) == 0);
    CHECK (s_write_cgroup (env, "machine.slice/machine-qemu\\x2d7\\x2dcg\\x2d1.scope/libvirt",
                           world->cg) == 0);
    CHECK (s_write_xml (env, "v1-1", 0, S_HA_PLAIN) == 0);
    CHECK (s_write_cgroup (env, "memory/machine/v1-1.libvirt-qemu", world->v1) == 0);
    CHECK (s_write_cgroup (env, "cpu,cpuacct/machine/v1-1.libvirt-qemu", world->v1) == 0);
    //  libvirt's own lock pidfile, a broken XML, an unrelated file and cgroup.
    CHECK (s_write_pidfile (env, "driver", getpid ()) == 0);
    CHECK (s_write_xml (env, "broken-1", 10, S_BROKEN) == 0);
    CHECK (s_write_pidfile (env, "broken-1", world->web) == 0);
    CHECK (s_write_cgroup (env, "system.slice/libvirtd.service", getpid ()) == 0);
    return failures;
}

//  --------------------------------------------------------------------------
//  Cases

static int
s_case_scan (void)
{
    int failures = 0;
    s_env_t env;
    s_world_t world;
    CHECK (s_env_start (&env) == 0);
    failures += s_world (&env, &world);
    fencer_config_t config;
    s_config (&env, &config, 0);

    fencer_domain_t found [32];
    size_t count = fencer_scan (&config, found, 32);
    CHECK (count == 9);
    const fencer_domain_t *entry = s_find (found, count, "web-1", FENCER_FROM_PIDFILE);
    CHECK (entry && entry->pid == world.web && entry->ha && entry->verified);
    entry = s_find (found, count, "db-1", FENCER_FROM_PIDFILE);
    CHECK (entry && entry->pid == world.db && !entry->ha && entry->verified);
    entry = s_find (found, count, "stale-1", FENCER_FROM_PIDFILE);
    CHECK (entry && entry->pid == world.victim && entry->ha && !entry->verified);
    entry = s_find (found, count, "reused-1", FENCER_FROM_PIDFILE);
    CHECK (entry && entry->pid == world.other && entry->ha && !entry->verified);
    entry = s_find (found, count, "self-1", FENCER_FROM_PIDFILE);
    CHECK (entry && entry->pid == getpid () && entry->ha && !entry->verified);
    entry = s_find (found, count, "driver", FENCER_FROM_PIDFILE);
    CHECK (entry && !entry->ha && !entry->verified);
    entry = s_find (found, count, "broken-1", FENCER_FROM_PIDFILE);
    CHECK (entry && !entry->ha && !entry->verified);
    entry = s_find (found, count, "cg-1", FENCER_FROM_CGROUP);
    CHECK (entry && entry->pid == world.cg && entry->ha && entry->verified);
    entry = s_find (found, count, "v1-1", FENCER_FROM_CGROUP);     // once, not per controller
    CHECK (entry && entry->pid == world.v1 && entry->ha && entry->verified);
    CHECK (!s_find (found, count, "web-2", FENCER_FROM_PIDFILE));
    CHECK (!s_find (found, count, "web-2", FENCER_FROM_CGROUP));

    //  A short array gets the first entries and the total.
    fencer_domain_t one [1];
    CHECK (fencer_scan (&config, one, 1) == 9);
    CHECK (one [0].source == FENCER_FROM_PIDFILE);
    CHECK (fencer_scan (&config, NULL, 0) == 9);

    //  Plain domain XML, the marker outside <metadata>, and no run directory at all.
    CHECK (s_write_xml (&env, "db-1", 4, S_OUTSIDE_METADATA) == 0);
    count = fencer_scan (&config, found, 32);
    entry = s_find (found, count, "db-1", FENCER_FROM_PIDFILE);
    CHECK (entry && !entry->ha);
    CHECK (s_write_xml (&env, "db-1", 4, S_HA_PLAIN) == 0);
    count = fencer_scan (&config, found, 32);
    entry = s_find (found, count, "db-1", FENCER_FROM_PIDFILE);
    CHECK (entry && entry->ha);
    snprintf (config.run_dir, sizeof config.run_dir, "%s/missing", env.dir);
    snprintf (config.cgroup_root, sizeof config.cgroup_root, "%s/missing", env.dir);
    CHECK (fencer_scan (&config, found, 32) == 0);

    //  A scan kills nothing.
    CHECK (s_alive (world.web) && s_alive (world.cg) && s_alive (world.v1));
    s_env_end (&env);
    return failures;
}

//  Connected: pets, kills nothing. Lease over: latches, kills the HA domains (each logged
//  once), nothing else, stops petting; stays latched when the lease comes back; unlatch
//  resumes petting.
static int
s_case_isolation (void)
{
    int failures = 0;
    s_env_t env;
    s_world_t world;
    CHECK (s_env_start (&env) == 0);
    failures += s_world (&env, &world);
    fencer_config_t config;
    s_config (&env, &config, s_now_ms () + 10000);
    char err [256];
    fencer_t *fencer = fencer_new (&config, err, sizeof err);
    CHECK (fencer != NULL);
    if (!fencer) {
        fprintf (stderr, "  fencer_new: %s\n", err);
        s_env_end (&env);
        return failures;
    }

    //  Connected: the watchdog file appears and its mtime moves; nothing is killed.
    CHECK (s_wait_pets (fencer, 0, 2000));
    int64_t first = s_mtime_ns (env.watchdog);
    CHECK (first > 0);
    uint64_t pets = fencer_pets (fencer);
    CHECK (s_wait_pets (fencer, pets, 2000));
    s_sleep_ms (20);
    CHECK (s_mtime_ns (env.watchdog) > first);
    CHECK (!fencer_latched (fencer) && fencer_kills (fencer) == 0);
    CHECK (s_alive (world.web) && s_alive (world.cg) && s_alive (world.v1));

    //  The lease ends: killed within 2 s.
    int64_t lease_end = s_now_ms () + 100;
    fencer_set_connected_until (fencer, lease_end);
    CHECK (s_wait_dead (world.web, 2000));
    CHECK (s_wait_dead (world.cg, 2000));
    CHECK (s_wait_dead (world.v1, 2000));
    CHECK (s_now_ms () - lease_end < 2000);
    CHECK (s_killed_by_sigkill (world.web) && s_killed_by_sigkill (world.cg));
    CHECK (fencer_latched (fencer));
    CHECK (s_log_count ("fencer: lease ended") == 1);

    //  Many polls later: the others live, each kill was counted and logged once, no pets.
    pets = fencer_pets (fencer);
    int64_t last_mtime = s_mtime_ns (env.watchdog);
    s_sleep_ms (400);
    CHECK (s_alive (world.db) && s_alive (world.victim) && s_alive (world.other));
    CHECK (fencer_kills (fencer) == 3);
    CHECK (s_log_count ("killed HA domain 'web-1'") == 1);
    CHECK (s_log_count ("killed HA domain 'cg-1'") == 1);
    CHECK (s_log_count ("killed HA domain 'v1-1'") == 1);
    CHECK (s_log_count ("killed HA domain") == 3);
    CHECK (fencer_pets (fencer) == pets && s_mtime_ns (env.watchdog) == last_mtime);

    //  A lease again is not enough: still latched, still not petting.
    fencer_set_connected_until (fencer, s_now_ms () + 10000);
    s_sleep_ms (300);
    CHECK (fencer_latched (fencer));
    CHECK (fencer_pets (fencer) == pets && s_mtime_ns (env.watchdog) == last_mtime);

    //  Unlatch (a new registration): petting resumes, nothing more is killed.
    fencer_unlatch (fencer);
    CHECK (s_wait_latched (fencer, false, 1000));
    CHECK (s_wait_pets (fencer, pets, 1000));
    s_sleep_ms (20);
    CHECK (s_mtime_ns (env.watchdog) > last_mtime);
    CHECK (fencer_kills (fencer) == 3);
    CHECK (s_log_count ("fencer: unlatched") == 1);

    //  Destroying the fencer kills nothing.
    fencer_destroy (&fencer);
    CHECK (fencer == NULL);
    fencer_destroy (&fencer);
    CHECK (s_alive (world.db) && s_alive (world.victim) && s_alive (world.other));
    s_env_end (&env);
    return failures;
}

//  With no lease from the start the fencer latches at once and kills HA domains that
//  appear later too; unlatch waits for a lease; an unlatch while not latched is dropped.
static int
s_case_unlatch (void)
{
    int failures = 0;
    s_env_t env;
    CHECK (s_env_start (&env) == 0);
    fencer_config_t config;
    s_config (&env, &config, 0);
    char err [256];
    fencer_t *fencer = fencer_new (&config, err, sizeof err);
    CHECK (fencer != NULL);
    if (!fencer) {
        s_env_end (&env);
        return failures;
    }
    CHECK (s_wait_latched (fencer, true, 1000));
    CHECK (s_log_count ("fencer: no lease held: latched") == 1);
    CHECK (fencer_pets (fencer) == 0 && s_mtime_ns (env.watchdog) == -1);   // never opened

    pid_t late = s_spawn (&env, "late-1");
    CHECK (s_write_xml (&env, "late-1", 11, S_HA_STATUS) == 0);
    CHECK (s_write_pidfile (&env, "late-1", late) == 0);
    CHECK (s_wait_dead (late, 2000));
    CHECK (fencer_kills (fencer) == 1);

    //  Unlatch without a lease: the request waits ...
    fencer_unlatch (fencer);
    s_sleep_ms (200);
    CHECK (fencer_latched (fencer) && fencer_pets (fencer) == 0);
    //  ... until the lease comes.
    fencer_set_connected_until (fencer, s_now_ms () + 10000);
    CHECK (s_wait_latched (fencer, false, 1000));
    CHECK (s_wait_pets (fencer, 0, 1000));
    CHECK (s_mtime_ns (env.watchdog) > 0);

    //  An unlatch while not latched is dropped: the next latch holds despite a new lease.
    fencer_unlatch (fencer);
    s_sleep_ms (100);
    fencer_set_connected_until (fencer, s_now_ms () - 1);
    CHECK (s_wait_latched (fencer, true, 1000));
    fencer_set_connected_until (fencer, s_now_ms () + 10000);
    s_sleep_ms (200);
    CHECK (fencer_latched (fencer));

    fencer_destroy (&fencer);
    s_env_end (&env);
    return failures;
}

//  The machine cgroup finds what a missing or stale pidfile does not: fencer_kill_ha_now
//  (a fencer still connected, so its thread kills nothing itself).
static int
s_case_cgroup (void)
{
    int failures = 0;
    s_env_t env;
    CHECK (s_env_start (&env) == 0);
    //  cg-2: its pidfile points at a plain sh; QEMU is in the cgroup.
    pid_t qemu = s_spawn (&env, "cg-2");
    pid_t victim = s_spawn (&env, NULL);
    CHECK (s_write_pidfile (&env, "cg-2", victim) == 0);
    CHECK (s_write_xml (&env, "cg-2", 21, S_HA_STATUS) == 0);
    CHECK (s_write_cgroup (&env, "machine.slice/machine-qemu\\x2d21\\x2dcg\\x2d2.scope/libvirt/emulator",
                           qemu) == 0);
    //  A name libvirt cuts short in the machine name (64 characters in all).
    const char *long_name = "a-very-long-domain-name.for-a-test-that-libvirt-cuts-in-the-machine-name";
    pid_t long_qemu = s_spawn (&env, long_name);
    CHECK (s_write_xml (&env, long_name, 22, S_HA_STATUS) == 0);
    CHECK (s_write_cgroup (&env, "machine.slice/machine-qemu\\x2d22\\x2da\\x2dvery\\x2dlong\\x2d"
                           "domain\\x2dname.for\\x2da\\x2dtest\\x2dthat\\x2dlibvirt\\x2dcuts\\x2din.scope",
                           long_qemu) == 0);
    //  db-2: not HA, found in its cgroup only; x-3: a cgroup whose id belongs to another
    //  domain; unknown: a scope without XML.
    pid_t db = s_spawn (&env, "db-2");
    CHECK (s_write_xml (&env, "db-2", 23, S_NOT_HA) == 0);
    CHECK (s_write_cgroup (&env, "machine.slice/machine-qemu\\x2d23\\x2ddb\\x2d2.scope", db) == 0);
    pid_t mismatch = s_spawn (&env, "x-3");
    CHECK (s_write_xml (&env, "x-3", 24, S_HA_STATUS) == 0);
    CHECK (s_write_cgroup (&env, "machine.slice/machine-qemu\\x2d99\\x2dx\\x2d3.scope", mismatch) == 0);
    pid_t unknown = s_spawn (&env, "unknown-1");
    CHECK (s_write_cgroup (&env, "machine.slice/machine-qemu\\x2d25\\x2dunknown\\x2d1.scope",
                           unknown) == 0);
    CHECK (qemu > 0 && victim > 0 && long_qemu > 0 && db > 0 && mismatch > 0 && unknown > 0);

    fencer_config_t config;
    s_config (&env, &config, s_now_ms () + 60000);
    fencer_domain_t found [16];
    size_t count = fencer_scan (&config, found, 16);
    const fencer_domain_t *entry = s_find (found, count, "cg-2", FENCER_FROM_CGROUP);
    CHECK (entry && entry->pid == qemu && entry->ha);
    entry = s_find (found, count, "cg-2", FENCER_FROM_PIDFILE);
    CHECK (entry && entry->pid == victim && !entry->verified);
    entry = s_find (found, count, long_name, FENCER_FROM_CGROUP);
    CHECK (entry && entry->pid == long_qemu && entry->ha);
    entry = s_find (found, count, "db-2", FENCER_FROM_CGROUP);
    CHECK (entry && entry->pid == db && !entry->ha);
    CHECK (!s_find (found, count, "x-3", FENCER_FROM_CGROUP));
    CHECK (count == 4);

    char err [256];
    fencer_t *fencer = fencer_new (&config, err, sizeof err);
    CHECK (fencer != NULL);
    if (fencer) {
        CHECK (fencer_kill_ha_now (fencer) == 2);
        CHECK (s_wait_dead (qemu, 2000) && s_wait_dead (long_qemu, 2000));
        CHECK (fencer_kill_ha_now (fencer) == 0);           // zombies now: nothing again
        CHECK (fencer_kills (fencer) == 2 && !fencer_latched (fencer));
        CHECK (s_log_count ("killed HA domain 'cg-2' (SIGKILL to pid") == 1);
        CHECK (s_log_count ("found in its machine cgroup") == 2);
        fencer_destroy (&fencer);
    }
    CHECK (s_alive (victim) && s_alive (db) && s_alive (mismatch) && s_alive (unknown));
    s_env_end (&env);
    return failures;
}

static int
s_case_config (void)
{
    int failures = 0;
    fencer_config_t config;
    fencer_config_defaults (&config);
    CHECK (strcmp (config.run_dir, "/run/libvirt/qemu") == 0);
    CHECK (strcmp (config.cgroup_root, "/sys/fs/cgroup") == 0);
    CHECK (config.poll_ms == 100 && config.pet_ms == 1000 && config.connected_until_ms == 0);
    CHECK (config.watchdog.kind == WATCHDOG_NONE);
    char err [256];
    CHECK (fencer_config_check (&config, err, sizeof err) == 0);
    //  (A fencer on the defaults would fence this machine: never started here.)

    config.poll_ms = 0;
    CHECK (fencer_new (&config, err, sizeof err) == NULL);
    CHECK (strstr (err, "invalid fencer poll interval 0 ms") != NULL);
    config.poll_ms = 100;
    config.pet_ms = -5;
    CHECK (fencer_config_check (&config, err, sizeof err) == -1);
    CHECK (strstr (err, "invalid watchdog pet interval -5 ms") != NULL);
    config.pet_ms = 1000;
    snprintf (config.run_dir, sizeof config.run_dir, "run/libvirt");
    CHECK (fencer_new (&config, err, sizeof err) == NULL);
    CHECK (strstr (err, "'run/libvirt': expected an absolute path") != NULL);
    snprintf (config.run_dir, sizeof config.run_dir, "/run/libvirt/qemu");
    config.cgroup_root [0] = 0;
    CHECK (fencer_config_check (&config, err, sizeof err) == -1);
    CHECK (strstr (err, "cgroup root") != NULL);
    CHECK (strcmp (VMSCHED_XMLNS_VM, "https://vmsched.dev/xmlns/vm/1") == 0);
    fencer_destroy (NULL);
    return failures;
}

int
main (int argc, char **argv)
{
    log_init ("test_fencer", LOG_LEVEL_DEBUG);
    log_set_sink (s_sink, NULL);
    static const check_case_t cases [] = {
        { "config", s_case_config },
        { "scan", s_case_scan },
        { "isolation", s_case_isolation },
        { "unlatch", s_case_unlatch },
        { "cgroup", s_case_cgroup },
    };
    return CHECK_RUN_ALL ("fencer", cases, argc, argv)? 1: 0;
}
