/*  test_fence.c - fence agents: the [fence NAME] configuration, and the runner against
    real shell-script agents and the lab's fence_vmsched_lab.

    Everything is written into one temporary directory, removed at the end. The agents are
    /bin/sh scripts that record what they got on stdin and the pids they leave behind, so
    the cases can check the options passed, the outcome and reason, and that a killed agent
    leaves no process: this program makes itself a child subreaper, so the grandchildren of
    the runner (an agent's background `sleep`) become its children once their parent dies,
    and can be reaped and seen to have been killed. The lab agent is found at
    tests/lab/fence_vmsched_lab from the repository root (where make and tests/run run) or
    under $VMSCHED_TOP.
*/
#include "check.h"
#include "fence.h"
#include "fixture_files.h"
#include "log.h"
#include "scheduler.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define S_PASSWORD  "s3cret-pw"     // must reach the agent and appear nowhere else
#define S_MARKER_FD 23              // opened without O_CLOEXEC: must not reach an agent
#define S_STR(x)    S_STR2 (x)
#define S_STR2(x)   #x

static char s_dir [256];            // the test's temporary directory

//  Every log line (the worker thread logs too), to check that no secret is in it.
static pthread_mutex_t s_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_log [65536];
static size_t s_log_used;

static void
s_log_sink (void *arg, log_level_t level, const char *message)
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

static bool
s_log_contains (const char *text)
{
    pthread_mutex_lock (&s_log_lock);
    bool found = strstr (s_log, text) != NULL;
    pthread_mutex_unlock (&s_log_lock);
    return found;
}

//  Writes an executable /bin/sh script NAME into the test directory; its path into path.
//  Every "@DIR@" in body becomes the test directory. 0, or -1.
static int
s_agent (const char *name, const char *body, char *path, size_t size)
{
    char text [4096] = "#!/bin/sh\n";
    for (const char *at = body; *at; ) {
        const char *mark = strstr (at, "@DIR@");
        size_t used = strlen (text);
        size_t take = mark? (size_t) (mark - at): strlen (at);
        snprintf (text + used, sizeof text - used, "%.*s%s", (int) take, at,
                  mark? s_dir: "");
        at += take + (mark? 5: 0);
    }
    snprintf (path, size, "%s/%s", s_dir, name);
    if (fixture_files_write (path, text) || chmod (path, 0755))
        return -1;
    return 0;
}

//  Writes text to the test directory's scheduler.conf (its path into path) and loads its
//  fence sections.
static int
s_load (const char *text, fence_config_t *config, char *path, size_t size, char *err,
        size_t err_size)
{
    snprintf (path, size, "%s/scheduler.conf", s_dir);
    if (fixture_files_write (path, text)) {
        snprintf (err, err_size, "cannot write %s", path);
        fence_config_init (config);
        return -2;
    }
    return fence_config_load (path, config, err, err_size);
}

//  Waits up to timeout_ms for a result as the scheduler's loop would (the runner's socket
//  readable, then take). 0, or -1 when none came.
static int
s_wait_result (fence_runner_t *runner, fence_result_t *result, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (fence_runner_socket (runner), NULL);
    int64_t until = zclock_mono () + timeout_ms;
    int rc;
    while ((rc = fence_runner_take (runner, result)) != 0) {
        int64_t left = until - zclock_mono ();
        if (left <= 0)
            break;
        zpoller_wait (poller, (int) left);
    }
    zpoller_destroy (&poller);
    return rc;
}

//  The pid written in the test directory's file name, or -1.
static pid_t
s_read_pid (const char *name)
{
    char path [512], line [32];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    fixture_files_read_line (path, line, sizeof line);
    return line [0]? (pid_t) atoi (line): -1;
}

//  Waits until the file name appears in the test directory (up to ms). True if it did.
static bool
s_wait_file (const char *name, int ms)
{
    char path [512];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    for (int waited = 0; waited < ms; waited += 10) {
        if (access (path, F_OK) == 0)
            return true;
        usleep (10 * 1000);
    }
    return false;
}

//  True when pid, a child of ours (directly, or adopted as subreaper), ended by SIGKILL
//  within ms; it is reaped, and then no longer exists at all.
static bool
s_reaped_killed (pid_t pid, int ms)
{
    if (pid <= 0)
        return false;
    for (int waited = 0; waited < ms; waited += 10) {
        int status;
        pid_t got = waitpid (pid, &status, WNOHANG);
        if (got == pid)
            return WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL
                && kill (pid, 0) == -1 && errno == ESRCH;
        if (got < 0)
            return false;   // not our child: not adopted (or already reaped by someone)
        usleep (10 * 1000);
    }
    return false;
}

//  True when no process pid exists (a pid the runner itself reaped).
static bool
s_gone (pid_t pid)
{
    return pid > 0 && kill (pid, 0) == -1 && errno == ESRCH;
}

//  --------------------------------------------------------------------------
//  Configuration

static int
s_config_ok (void)
{
    int failures = 0;
    char agent [512], path [512], err [1024] = "";
    CHECK (s_agent ("fence_ok", "exit 0\n", agent, sizeof agent) == 0);
    char text [2048];
    snprintf (text, sizeof text,
        "[scheduler]\nlog_level = info\n\n"
        "[fence h2]\nagent = %s\ntimeout_ms = 1000\npoll_ms = 100\nplug = 2\n"
        "; a comment\n"
        "[fence h1]   ; the first host\nagent = %s\nip = 10.0.0.5\nusername = admin\n"
        "password = " S_PASSWORD "\nplug = h1\nssl-insecure = \n", agent, agent);
    fence_config_t config;
    CHECK (s_load (text, &config, path, sizeof path, err, sizeof err) == 0);
    CHECK (config.hosts.count == 2);
    const fence_host_t *h1 = fence_config_find (&config, "h1");
    const fence_host_t *h2 = fence_config_find (&config, "h2");
    CHECK (h1 && h2 && !fence_config_find (&config, "h3") && !fence_config_find (&config, ""));
    if (h1 && h2) {
        CHECK (strcmp (h1->agent, agent) == 0);
        CHECK (h1->timeout_ms == 20000 && h1->poll_ms == 500);
        CHECK (h2->timeout_ms == 1000 && h2->poll_ms == 100);
        CHECK (h1->options.count == 5 && h2->options.count == 1);
        static const char *keys [] = { "ip", "username", "password", "plug", "ssl-insecure" };
        static const char *values [] = { "10.0.0.5", "admin", S_PASSWORD, "h1", "" };
        for (size_t i = 0; i < 5 && i < h1->options.count; i++) {
            const fence_option_t *option = vec_at (&h1->options, i);
            CHECK (strcmp (option->key, keys [i]) == 0 && strcmp (option->value, values [i]) == 0);
        }
    }
    //  A copy is deep.
    fence_config_t copy;
    CHECK (fence_config_copy (&config, &copy) == 0);
    fence_config_free (&config);
    const fence_host_t *copied = fence_config_find (&copy, "h1");
    CHECK (copied && copied->options.count == 5
           && strcmp (((fence_option_t *) vec_at (&copied->options, 2))->value, S_PASSWORD) == 0);
    fence_config_free (&copy);
    fence_config_free (&copy);      // already empty: harmless

    //  The [scheduler] table's pass accepts the same file (it skips [fence ...]), and
    //  still refuses sections nobody reads.
    scheduler_config_t scheduler;
    scheduler_config_defaults (&scheduler);
    CHECK (config_load (path, scheduler_config_keys, &scheduler, err, sizeof err) == 0);
    CHECK (fixture_files_write (path, "[scheduler]\nlog_level = debug\n[fencer h1]\nx = 1\n") == 0);
    CHECK (config_load (path, scheduler_config_keys, &scheduler, err, sizeof err) == -1);
    CHECK (strstr (err, "unknown section [fencer h1]"));
    //  A file without fence sections: no host has a fence device.
    CHECK (fixture_files_write (path, "[scheduler]\nlog_level = debug\n") == 0);
    CHECK (fence_config_load (path, &config, err, sizeof err) == 0 && config.hosts.count == 0);
    fence_config_free (&config);
    return failures;
}

//  Loads text, expecting a refusal whose message contains each of the words.
static int
s_refused (const char *text, const char *word1, const char *word2, const char *word3)
{
    int failures = 0;
    char path [512], err [1024] = "";
    fence_config_t config;
    int rc = s_load (text, &config, path, sizeof path, err, sizeof err);
    CHECK (rc == -1);
    CHECK (config.hosts.count == 0);
    CHECK (strstr (err, path) != NULL);
    const char *words [] = { word1, word2, word3 };
    for (int i = 0; i < 3; i++)
        if (words [i] && !strstr (err, words [i])) {
            fprintf (stderr, "  expected '%s' in: %s\n", words [i], err);
            failures++;
        }
    if (strstr (err, S_PASSWORD)) {
        fprintf (stderr, "  the password is in: %s\n", err);
        failures++;
    }
    fence_config_free (&config);
    return failures;
}

static int
s_config_errors (void)
{
    int failures = 0;
    char agent [512], plain [512], text [2048];
    CHECK (s_agent ("fence_ok", "exit 0\n", agent, sizeof agent) == 0);
    snprintf (plain, sizeof plain, "%s/not-executable", s_dir);
    CHECK (fixture_files_write (plain, "#!/bin/sh\nexit 0\n") == 0 && chmod (plain, 0644) == 0);

    failures += s_refused ("[fence h1]\nip = 10.0.0.5\npassword = " S_PASSWORD "\n",
                           "[fence h1] has no 'agent' key", NULL, NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\n[fence h2]\n", agent);
    failures += s_refused (text, "[fence h2] has no 'agent' key", NULL, NULL);
    snprintf (text, sizeof text, "[scheduler]\n[fence h1]\nagent = %s\n", plain);
    failures += s_refused (text, "line 3: [fence h1] agent", plain, "is not executable");
    snprintf (text, sizeof text, "[fence h1]\nagent = %s/missing\n", s_dir);
    failures += s_refused (text, "[fence h1] agent", "/missing': no such file", NULL);
    failures += s_refused ("[fence h1]\nagent = fence_ipmilan\n", "[fence h1] agent",
                           "not an absolute path", NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\n", s_dir);
    failures += s_refused (text, "[fence h1] agent", "not a regular file", NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\naction = reboot\n", agent);
    failures += s_refused (text, "line 3: [fence h1] option 'action' is not allowed", NULL,
                           NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\nip = a\nip = b\n", agent);
    failures += s_refused (text, "line 4: [fence h1] option 'ip' given twice", NULL, NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\nagent = %s\n", agent, agent);
    failures += s_refused (text, "key 'agent' given twice", NULL, NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\npassword = " S_PASSWORD "\n"
              "   continued\n", agent);
    failures += s_refused (text, "line 4: [fence h1] option 'password' given twice", NULL,
                           NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\nip address = 1\n", agent);
    failures += s_refused (text, "invalid option name 'ip address'", NULL, NULL);
    snprintf (text, sizeof text, "[fence]\nagent = %s\n", agent);
    failures += s_refused (text, "line 1: section [fence] names no host", NULL, NULL);
    snprintf (text, sizeof text, "[fence h/1]\nagent = %s\n", agent);
    failures += s_refused (text, "invalid host name 'h/1' in [fence h/1]", NULL, NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\n[fence h1]\nip = 1\n", agent);
    failures += s_refused (text, "line 3: section [fence h1] appears twice", NULL, NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\ntimeout_ms = 5\n", agent);
    failures += s_refused (text, "line 3: [fence h1] invalid value '5' for 'timeout_ms'",
                           "from 100 to 3600000", NULL);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\npoll_ms = soon\n", agent);
    failures += s_refused (text, "[fence h1] invalid value 'soon' for 'poll_ms'", NULL, NULL);
    //  inih keeps 49 characters of a section name: a longer one would name another host.
    failures += s_refused ("[fence a-host-name-long-enough-to-be-cut-short-by-inih]\n"
                           "agent = /bin/true\n", "line 1: section name", "is too long", NULL);
    failures += s_refused ("[fence h1\nagent = /bin/true\n", "line 1: syntax error", NULL, NULL);

    char err [1024];
    fence_config_t config;
    CHECK (fence_config_load ("/nonexistent/scheduler.conf", &config, err, sizeof err) == -1);
    CHECK (strstr (err, "cannot read config '/nonexistent/scheduler.conf'"));
    CHECK (config.hosts.count == 0);
    fence_config_free (&config);
    return failures;
}

//  --------------------------------------------------------------------------
//  The runner

//  Starts a runner over text's fence sections.
static fence_runner_t *
s_runner (const char *text)
{
    char path [512], err [1024] = "";
    fence_config_t config;
    if (s_load (text, &config, path, sizeof path, err, sizeof err)) {
        fprintf (stderr, "  cannot load the fence config: %s\n", err);
        return NULL;
    }
    fence_runner_t *runner = fence_runner_new (&config, err, sizeof err);
    fence_config_free (&config);    // the runner has its own copy
    if (!runner)
        fprintf (stderr, "  cannot start the runner: %s\n", err);
    return runner;
}

//  Off, then status says on once and off the next time: confirmed. Every run got the same
//  options (action first), the password reached the agent and nothing else, and no file
//  descriptor of ours reached it.
static int
s_confirmed (void)
{
    int failures = 0;
    char agent [512], text [2048];
    CHECK (s_agent ("fence_good",
        "input=$(cat)\n"
        "if [ -e /proc/$$/fd/" S_STR (S_MARKER_FD) " ]; then echo LEAKED >> @DIR@/good.log; fi\n"
        "printf '%s\\n--\\n' \"$input\" >> @DIR@/good.log\n"
        "case \"$input\" in\n"
        "action=off*) echo 'Success: Powered OFF'; exit 0 ;;\n"
        "action=status*)\n"
        "    n=$(cat @DIR@/good.count 2>/dev/null || echo 0); n=$((n + 1))\n"
        "    echo $n > @DIR@/good.count\n"
        "    if [ $n -ge 2 ]; then echo 'Status: OFF'; exit 2; fi\n"
        "    echo 'Status: ON'; exit 0 ;;\n"
        "esac\n"
        "exit 1\n", agent, sizeof agent) == 0);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\ntimeout_ms = 5000\npoll_ms = 100\n"
              "ip = 10.0.0.5\nusername = admin\npassword = " S_PASSWORD "\nplug = h1\n", agent);
    fence_runner_t *runner = s_runner (text);
    CHECK (runner);
    if (!runner)
        return failures;
    CHECK (fence_runner_request (runner, "h1", 41) == 0);
    fence_result_t result;
    CHECK (s_wait_result (runner, &result, 5000) == 0);
    CHECK (strcmp (result.host_name, "h1") == 0 && result.request_id == 41);
    CHECK (result.outcome == FENCE_CONFIRMED_OFF);
    CHECK (strstr (result.reason, "off confirmed by status after"));
    CHECK (result.elapsed_ms >= 100 && result.elapsed_ms < 5000);    // one poll_ms pause
    CHECK (!fence_runner_pending (runner, "h1"));
    CHECK (fence_runner_take (runner, &result) == -1);

    char path [512];
    snprintf (path, sizeof path, "%s/good.log", s_dir);
    char *got = fixture_files_read (path);
    const char *options = "ip=10.0.0.5\nusername=admin\npassword=" S_PASSWORD "\nplug=h1\n--\n";
    char expected [1024];
    snprintf (expected, sizeof expected, "action=off\n%saction=status\n%saction=status\n%s",
              options, options, options);
    CHECK (got && strcmp (got, expected) == 0);
    if (got && strcmp (got, expected))
        fprintf (stderr, "  the agent got:\n%s  expected:\n%s", got, expected);
    free (got);
    CHECK (!strstr (result.reason, S_PASSWORD));
    CHECK (s_log_contains ("fence host 'h1': running"));
    CHECK (!s_log_contains (S_PASSWORD));
    fence_runner_destroy (&runner);
    CHECK (runner == NULL);
    fence_runner_destroy (&runner);
    return failures;
}

//  Off exits 1: failed with what the agent said, its password blanked out.
static int
s_agent_fails (void)
{
    int failures = 0;
    char agent [512], text [2048];
    CHECK (s_agent ("fence_fails",
        "cat > /dev/null\n"
        "echo 'Connecting to 10.0.0.5 ...'\n"
        "echo 'Unable to connect/login to fencing device as admin/" S_PASSWORD "' >&2\n"
        "exit 1\n", agent, sizeof agent) == 0);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\ntimeout_ms = 5000\n"
              "ip = 10.0.0.5\nusername = admin\npasswd = " S_PASSWORD "\n", agent);
    fence_runner_t *runner = s_runner (text);
    CHECK (runner);
    if (!runner)
        return failures;
    CHECK (fence_runner_request (runner, "h1", 7) == 0);
    fence_result_t result;
    CHECK (s_wait_result (runner, &result, 5000) == 0);
    CHECK (result.request_id == 7 && result.outcome == FENCE_FAILED);
    CHECK (strcmp (result.reason, "fence_fails exited 1: Unable to connect/login to fencing "
                   "device as admin/****") == 0);
    if (strcmp (result.reason, "fence_fails exited 1: Unable to connect/login to fencing "
                "device as admin/****"))
        fprintf (stderr, "  reason: %s\n", result.reason);
    CHECK (!s_log_contains (S_PASSWORD));
    fence_runner_destroy (&runner);
    return failures;
}

//  Off hangs: killed at timeout_ms with its background child; failed "timed out".
static int
s_agent_hangs (void)
{
    int failures = 0;
    char agent [512], text [2048];
    CHECK (s_agent ("fence_hangs",
        "cat > /dev/null\n"
        "echo $$ > @DIR@/hang.pid.new && mv @DIR@/hang.pid.new @DIR@/hang.pid\n"
        "sleep 30 &\n"
        "echo $! > @DIR@/hang-child.pid\n"
        "echo 'waiting for the BMC'\n"
        "wait\n", agent, sizeof agent) == 0);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\ntimeout_ms = 1000\n", agent);
    fence_runner_t *runner = s_runner (text);
    CHECK (runner);
    if (!runner)
        return failures;
    CHECK (fence_runner_request (runner, "h1", 8) == 0);
    fence_result_t result;
    CHECK (s_wait_result (runner, &result, 5000) == 0);
    CHECK (result.outcome == FENCE_FAILED);
    CHECK (strstr (result.reason, "fence_hangs timed out after"));
    CHECK (strstr (result.reason, "(action=off) and was killed: waiting for the BMC"));
    CHECK (result.elapsed_ms >= 1000 && result.elapsed_ms < 3000);
    pid_t shell = s_read_pid ("hang.pid"), child = s_read_pid ("hang-child.pid");
    CHECK (s_gone (shell));                 // the runner reaped its child
    CHECK (s_reaped_killed (child, 2000));  // and killed its process group
    fence_runner_destroy (&runner);
    return failures;
}

//  Status keeps saying on (or keeps failing, or hangs): failed once the deadline is near.
static int
s_status_stays_on (void)
{
    int failures = 0;
    char on [512], broken [512], hangs [512], text [2048];
    CHECK (s_agent ("fence_stays_on",
        "input=$(cat)\n"
        "case \"$input\" in action=status*) echo 'Status: ON';; esac\n"
        "exit 0\n", on, sizeof on) == 0);
    CHECK (s_agent ("fence_status_fails",
        "input=$(cat)\n"
        "case \"$input\" in action=status*) echo 'BMC busy' >&2; exit 1;; esac\n"
        "exit 0\n", broken, sizeof broken) == 0);
    CHECK (s_agent ("fence_status_hangs",
        "input=$(cat)\n"
        "case \"$input\" in action=status*) exec sleep 30;; esac\n"
        "exit 0\n", hangs, sizeof hangs) == 0);
    snprintf (text, sizeof text,
              "[fence h1]\nagent = %s\ntimeout_ms = 1000\npoll_ms = 100\n"
              "[fence h2]\nagent = %s\ntimeout_ms = 1000\npoll_ms = 100\n"
              "[fence h3]\nagent = %s\ntimeout_ms = 1000\n", on, broken, hangs);
    fence_runner_t *runner = s_runner (text);
    CHECK (runner);
    if (!runner)
        return failures;
    CHECK (fence_runner_request (runner, "h1", 1) == 0);
    CHECK (fence_runner_request (runner, "h2", 2) == 0);
    fence_result_t result;
    CHECK (s_wait_result (runner, &result, 5000) == 0);
    CHECK (result.request_id == 1 && result.outcome == FENCE_FAILED);
    CHECK (strstr (result.reason, "status still on after"));
    CHECK (strstr (result.reason, "(timeout_ms 1000)"));
    CHECK (result.elapsed_ms >= 800 && result.elapsed_ms <= 1500);
    CHECK (s_wait_result (runner, &result, 5000) == 0);
    CHECK (result.request_id == 2 && result.outcome == FENCE_FAILED);
    CHECK (strstr (result.reason, "status not off after"));
    CHECK (strstr (result.reason, "last status: fence_status_fails exited 1: BMC busy"));
    CHECK (fence_runner_request (runner, "h3", 3) == 0);
    CHECK (s_wait_result (runner, &result, 5000) == 0);
    CHECK (result.request_id == 3 && result.outcome == FENCE_FAILED);
    CHECK (strstr (result.reason, "status not off after"));
    CHECK (strstr (result.reason, "last status: fence_status_hangs timed out after"));
    CHECK (strstr (result.reason, "(action=status) and was killed"));
    CHECK (result.elapsed_ms >= 1000 && result.elapsed_ms < 3000);
    fence_runner_destroy (&runner);
    return failures;
}

//  Requests run in order; a second request for a host not yet answered is coalesced; an
//  unknown host is refused; an agent gone since start-up fails cleanly.
static int
s_queue (void)
{
    int failures = 0;
    char fails [512], good [512], gone [512], text [2048];
    CHECK (s_agent ("fence_fails2", "cat > /dev/null\necho 'no route to host' >&2\nexit 1\n",
                    fails, sizeof fails) == 0);
    CHECK (s_agent ("fence_off",
        "input=$(cat)\ncase \"$input\" in action=status*) exit 2;; esac\nexit 0\n",
        good, sizeof good) == 0);
    CHECK (s_agent ("fence_gone", "exit 0\n", gone, sizeof gone) == 0);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\n[fence h2]\nagent = %s\n"
              "[fence h3]\nagent = %s\n", fails, good, gone);
    fence_runner_t *runner = s_runner (text);
    CHECK (runner);
    if (!runner)
        return failures;
    CHECK (unlink (gone) == 0);
    CHECK (fence_runner_request (runner, "h1", 1) == 0);
    CHECK (fence_runner_request (runner, "h1", 2) == 1);
    CHECK (fence_runner_request (runner, "h2", 3) == 0);
    CHECK (fence_runner_request (runner, "h3", 4) == 0);
    CHECK (fence_runner_request (runner, "h9", 5) == -1);
    CHECK (s_log_contains ("cannot fence host 'h9': the configuration has no [fence h9] section"));
    CHECK (fence_runner_pending (runner, "h1") && !fence_runner_pending (runner, "h9"));
    fence_result_t result;
    CHECK (s_wait_result (runner, &result, 5000) == 0);
    CHECK (strcmp (result.host_name, "h1") == 0 && result.request_id == 1);
    CHECK (result.outcome == FENCE_FAILED);
    CHECK (strcmp (result.reason, "fence_fails2 exited 1: no route to host") == 0);
    CHECK (!fence_runner_pending (runner, "h1"));
    CHECK (s_wait_result (runner, &result, 5000) == 0);
    CHECK (strcmp (result.host_name, "h2") == 0 && result.request_id == 3);
    CHECK (result.outcome == FENCE_CONFIRMED_OFF);
    CHECK (s_wait_result (runner, &result, 5000) == 0);
    CHECK (strcmp (result.host_name, "h3") == 0 && result.request_id == 4);
    CHECK (result.outcome == FENCE_FAILED);
    //  posix_spawn reports the failed exec; under valgrind (which runs the child as a
    //  fork) the child exits 127 instead, as a shell's "not found" does.
    CHECK ((strstr (result.reason, "cannot run '")
            && strstr (result.reason, "/fence_gone': No such file or directory"))
           || strncmp (result.reason, "fence_gone exited 127", 21) == 0);
    CHECK (s_wait_result (runner, &result, 300) == -1);     // nothing more: 2 was coalesced
    CHECK (fence_runner_request (runner, "h1", 6) == 0);    // answered: a new run
    CHECK (s_wait_result (runner, &result, 5000) == 0 && result.request_id == 6);
    fence_runner_destroy (&runner);
    return failures;
}

//  Destroying the runner while an agent runs kills it at once, with its process group.
static int
s_destroy_kills (void)
{
    int failures = 0;
    char agent [512], path [512], text [2048];
    snprintf (path, sizeof path, "%s/hang.pid", s_dir);
    unlink (path);
    CHECK (s_agent ("fence_hangs2",
        "cat > /dev/null\n"
        "sleep 30 &\n"
        "echo $! > @DIR@/hang-child.pid\n"
        "echo $$ > @DIR@/hang.pid.new && mv @DIR@/hang.pid.new @DIR@/hang.pid\n"
        "wait\n", agent, sizeof agent) == 0);
    snprintf (text, sizeof text, "[fence h1]\nagent = %s\ntimeout_ms = 20000\n", agent);
    fence_runner_t *runner = s_runner (text);
    CHECK (runner);
    if (!runner)
        return failures;
    CHECK (fence_runner_request (runner, "h1", 9) == 0);
    CHECK (s_wait_file ("hang.pid", 5000));
    int64_t started = zclock_mono ();
    fence_runner_destroy (&runner);
    CHECK (zclock_mono () - started < 1000);
    CHECK (s_gone (s_read_pid ("hang.pid")));
    CHECK (s_reaped_killed (s_read_pid ("hang-child.pid"), 2000));
    return failures;
}

//  --------------------------------------------------------------------------
//  The lab's fence agent, on a fake lab host whose "init" is a sleep of ours

//  Runs the lab agent with these stdin lines; its exit status (-1 if it did not run).
static int
s_lab_agent (const char *agent, const char *input)
{
    char command [8192];
    snprintf (command, sizeof command, "printf '%s' | '%s' 2>/dev/null >/dev/null", input,
              agent);
    int status = system (command);
    return status >= 0 && WIFEXITED (status)? WEXITSTATUS (status): -1;
}

static int
s_lab_agent_case (void)
{
    int failures = 0;
    const char *top = getenv ("VMSCHED_TOP");
    char relative [PATH_MAX], agent [PATH_MAX];
    snprintf (relative, sizeof relative, "%s/tests/lab/fence_vmsched_lab", top? top: ".");
    if (!realpath (relative, agent) || access (agent, X_OK)) {
        fprintf (stderr, "  cannot find %s: run from the repository root or set VMSCHED_TOP\n",
                 relative);
        return failures + 1;
    }
    char lab [512], host [600], pid_file [700], input [1024], text [PATH_MAX + 1024];
    snprintf (lab, sizeof lab, "%s/lab", s_dir);
    snprintf (host, sizeof host, "%s/h3", lab);
    snprintf (pid_file, sizeof pid_file, "%s/init.pid", host);
    CHECK (mkdir (lab, 0700) == 0 && mkdir (host, 0700) == 0);
    pid_t init = -1;
    char *argv [] = { "sleep", "30", NULL };
    CHECK (posix_spawnp (&init, "sleep", NULL, NULL, argv, environ) == 0);
    CHECK (fixture_files_writef (pid_file, "%d\n", (int) init) == 0);

    snprintf (input, sizeof input, "action=status\\nlab_dir=%s\\nplug=3\\n", lab);
    CHECK (s_lab_agent (agent, input) == 0);                // on
    snprintf (input, sizeof input, "action=on\\nlab_dir=%s\\nplug=3\\n", lab);
    CHECK (s_lab_agent (agent, input) == 1);                // not supported
    snprintf (input, sizeof input, "action=reboot\\nlab_dir=%s\\nplug=3\\n", lab);
    CHECK (s_lab_agent (agent, input) == 1);                // unknown action
    snprintf (input, sizeof input, "action=off\\nlab_dir=%s\\n", lab);
    CHECK (s_lab_agent (agent, input) == 1);                // no plug
    CHECK (s_lab_agent (agent, "action=off\\nplug=3\\n") == 1);     // no lab_dir
    snprintf (input, sizeof input, "lab_dir=%s\\nplug=3\\n", lab);
    CHECK (s_lab_agent (agent, input) == 1);                // no action
    snprintf (input, sizeof input, "action=status\\nlab_dir=%s\\nplug=three\\n", lab);
    CHECK (s_lab_agent (agent, input) == 1);                // bad plug
    CHECK (kill (init, 0) == 0);                            // none of that touched it

    //  Through the runner, as the scheduler will use it in the lab.
    snprintf (text, sizeof text, "[fence h3]\nagent = %s\ntimeout_ms = 5000\npoll_ms = 100\n"
              "lab_dir = %s\nplug = 3\n", agent, lab);
    fence_runner_t *runner = s_runner (text);
    CHECK (runner);
    if (runner) {
        CHECK (fence_runner_request (runner, "h3", 33) == 0);
        fence_result_t result;
        CHECK (s_wait_result (runner, &result, 5000) == 0);
        CHECK (result.outcome == FENCE_CONFIRMED_OFF && result.request_id == 33);
        if (result.outcome != FENCE_CONFIRMED_OFF)
            fprintf (stderr, "  reason: %s\n", result.reason);
        fence_runner_destroy (&runner);
    }
    CHECK (s_reaped_killed (init, 2000));                   // off killed the host's "init"
    CHECK (access (pid_file, F_OK) == -1);                  // and removed its pid file
    snprintf (input, sizeof input, "action=status\\nlab_dir=%s\\nplug=3\\n", lab);
    CHECK (s_lab_agent (agent, input) == 2);                // off
    snprintf (input, sizeof input, "action=off\\nlab_dir=%s\\nplug=3\\n", lab);
    CHECK (s_lab_agent (agent, input) == 0);                // off again: already off
    if (init > 0 && kill (init, 0) == 0) {                  // a failed case leaves nothing
        kill (init, SIGKILL);
        waitpid (init, NULL, 0);
    }
    return failures;
}

int
main (int argc, char **argv)
{
    log_init ("test_fence", LOG_LEVEL_DEBUG);
    log_set_sink (s_log_sink, NULL);
    //  Orphans of the agents (their background children) become ours: see s_reaped_killed.
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    //  An fd without O_CLOEXEC, which the runner must not pass on (s_confirmed checks).
    int marker = open ("/dev/null", O_RDONLY);
    if (marker < 0 || dup2 (marker, S_MARKER_FD) != S_MARKER_FD) {
        fprintf (stderr, "cannot open the marker fd\n");
        return 1;
    }
    close (marker);
    if (fixture_files_tempdir (s_dir, sizeof s_dir, "fence")) {
        fprintf (stderr, "cannot make a temporary directory\n");
        return 1;
    }
    static const check_case_t cases [] = {
        { "config_ok", s_config_ok },
        { "config_errors", s_config_errors },
        { "confirmed", s_confirmed },
        { "agent_fails", s_agent_fails },
        { "agent_hangs", s_agent_hangs },
        { "status_stays_on", s_status_stays_on },
        { "queue", s_queue },
        { "destroy_kills", s_destroy_kills },
        { "lab_agent", s_lab_agent_case },
    };
    int failed = CHECK_RUN_ALL ("fence", cases, argc, argv);
    fixture_files_remove_dir (s_dir);
    close (S_MARKER_FD);
    log_set_sink (NULL, NULL);
    return failed? 1: 0;
}
