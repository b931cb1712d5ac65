/*  fence.c - fence agents for the leader, run in one worker thread (see fence.h).

    Owns the runner's copy of the configuration, its worker (a zactor) and, through the
    worker, every fence agent process: only the worker spawns, waits for and kills them, and
    it waits only for its own child's pid (never waitpid (-1), which would steal other
    children of the daemon). The caller's side keeps the set of hosts requested and not yet
    taken, so coalescing needs no round trip to the worker. Nothing here logs an option's
    value; the agent's stdin text and the options are wiped before they are freed.

    The pipe between them carries plain string frames only, so that zactor_destroy may drop
    unread results without leaking: "FENCE" host id from the caller; "RESULT" host id outcome
    reason elapsed_ms from the worker; "$TERM" (zactor_destroy) ends the worker, also in the
    middle of a run.
*/
#include "fence.h"
#include "clock.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define S_SECTION           "fence"     // [fence NAME]
#define S_TIMEOUT_MS        20000       // default timeout_ms
#define S_POLL_MS           500         // default poll_ms
#define S_CAPTURE           1024        // bytes kept of an agent's stdout and of its stderr
#define S_READS_PER_WAKE    16          // reads of one pipe before looking at the clock again
#define S_EXIT_TICK_MS      20          // the longest wait between two exit checks
#define S_NAME_CHARS        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
#define S_OPTION_CHARS      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

//  --------------------------------------------------------------------------
//  Configuration

//  The keys of a [fence NAME] section that are the runner's own; every other key is an
//  option for the agent.
static const config_key_t s_host_keys [] = {
    CONFIG_STR (S_SECTION, "agent", fence_host_t, agent, "absolute path of the fence agent"),
    CONFIG_NUM (S_SECTION, "timeout_ms", fence_host_t, timeout_ms, 100, 3600000,
                "deadline of a fence in milliseconds: off, then status until it says off"),
    CONFIG_NUM (S_SECTION, "poll_ms", fence_host_t, poll_ms, 10, 60000,
                "pause between status runs in milliseconds"),
    CONFIG_END
};

static int
s_host_compare (const void *key, const void *item)
{
    return strcmp (key, ((const fence_host_t *) item)->name);
}

//  Wipes and frees a string that may hold a secret. NULL-safe.
static void
s_free_secret (char *text)
{
    if (text) {
        explicit_bzero (text, strlen (text));
        free (text);
    }
}

static void
s_host_free (fence_host_t *host)
{
    for (size_t i = 0; i < host->options.count; i++) {
        fence_option_t *option = vec_at (&host->options, i);
        free (option->key);
        s_free_secret (option->value);
    }
    vec_free (&host->options);
}

//  Appends a copy of key = value to host's options. 0, or -1 when out of memory.
static int
s_option_add (fence_host_t *host, const char *key, const char *value)
{
    fence_option_t option = { strdup (key), strdup (value) };
    if (!option.key || !option.value || !vec_push (&host->options, &option)) {
        free (option.key);
        s_free_secret (option.value);
        return -1;
    }
    return 0;
}

static const fence_option_t *
s_option_find (const fence_host_t *host, const char *key)
{
    for (size_t i = 0; i < host->options.count; i++) {
        const fence_option_t *option = vec_at (&host->options, i);
        if (strcmp (option->key, key) == 0)
            return option;
    }
    return NULL;
}

void
fence_config_init (fence_config_t *self)
{
    self->hosts = VEC_OF (fence_host_t);
}

void
fence_config_free (fence_config_t *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->hosts.count; i++)
        s_host_free (vec_at (&self->hosts, i));
    vec_free (&self->hosts);
}

const fence_host_t *
fence_config_find (const fence_config_t *self, const char *host_name)
{
    return vec_find (&self->hosts, host_name, s_host_compare, NULL);
}

int
fence_config_copy (const fence_config_t *from, fence_config_t *to)
{
    fence_config_init (to);
    if (vec_reserve (&to->hosts, from->hosts.count))
        return -1;
    for (size_t i = 0; i < from->hosts.count; i++) {
        const fence_host_t *source = vec_at (&from->hosts, i);
        fence_host_t host = *source;
        host.options = VEC_OF (fence_option_t);
        fence_host_t *copy = vec_push (&to->hosts, &host);     // reserved: cannot fail
        for (size_t j = 0; j < source->options.count; j++) {
            const fence_option_t *option = vec_at (&source->options, j);
            if (s_option_add (copy, option->key, option->value)) {
                fence_config_free (to);
                return -1;
            }
        }
    }
    return 0;
}

//  State of one fence_config_load.
typedef struct {
    fence_config_t *config;     // being filled
    fence_host_t *host;         // the [fence NAME] section being read; NULL in other sections
    bool timeout_seen;          // its timeout_ms was given
    bool poll_seen;             // its poll_ms was given
} s_load_t;

//  A new [fence NAME] section. 0, or -1 with what is wrong in err.
static int
s_load_section (s_load_t *load, const char *section, char *err, size_t err_size)
{
    load->host = NULL;
    if (strcmp (section, S_SECTION) == 0) {
        snprintf (err, err_size, "section [%s] names no host: expected [%s NAME], NAME the "
                  "host's cluster name", section, S_SECTION);
        return -1;
    }
    size_t prefix = strlen (S_SECTION);
    if (strncmp (section, S_SECTION, prefix) || section [prefix] != ' ')
        return 0;               // another reader's section
    const char *name = section + prefix + 1;
    if (!*name || strspn (name, S_NAME_CHARS) != strlen (name)
    ||  strlen (name) >= FENCE_NAME_SIZE) {
        snprintf (err, err_size, "invalid host name '%s' in [%s]: use letters, digits, '.', "
                  "'-' and '_'", name, section);
        return -1;
    }
    size_t index;
    if (vec_find (&load->config->hosts, name, s_host_compare, &index)) {
        snprintf (err, err_size, "section [%s] appears twice", section);
        return -1;
    }
    fence_host_t host = {
        .timeout_ms = S_TIMEOUT_MS,
        .poll_ms = S_POLL_MS,
        .options = VEC_OF (fence_option_t)
    };
    snprintf (host.name, sizeof host.name, "%s", name);
    load->host = vec_insert (&load->config->hosts, index, &host);
    load->timeout_seen = load->poll_seen = false;
    if (!load->host) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

//  Checks that path names an executable file. 0, or -1 with what is wrong in err.
static int
s_check_agent (const char *section, const char *path, char *err, size_t err_size)
{
    struct stat st;
    if (path [0] != '/') {
        snprintf (err, err_size, "[%s] agent '%s' is not an absolute path", section, path);
        return -1;
    }
    if (stat (path, &st)) {
        snprintf (err, err_size, "[%s] agent '%s': %s", section, path,
                  errno == ENOENT? "no such file": strerror (errno));
        return -1;
    }
    if (!S_ISREG (st.st_mode)) {
        snprintf (err, err_size, "[%s] agent '%s' is not a regular file", section, path);
        return -1;
    }
    if (access (path, X_OK)) {
        snprintf (err, err_size, "[%s] agent '%s' is not executable", section, path);
        return -1;
    }
    return 0;
}

//  config_each's function: one section header or one key of the file.
static int
s_load_entry (void *arg, const char *section, const char *key, const char *value,
              char *err, size_t err_size)
{
    s_load_t *load = arg;
    if (!key)
        return s_load_section (load, section, err, err_size);
    fence_host_t *host = load->host;
    if (!host)
        return 0;               // another reader's section
    if (strcmp (key, "action") == 0) {
        snprintf (err, err_size, "[%s] option 'action' is not allowed: the runner sets "
                  "action=off and action=status itself", section);
        return -1;
    }
    bool *seen = strcmp (key, "timeout_ms") == 0? &load->timeout_seen:
                 strcmp (key, "poll_ms") == 0? &load->poll_seen: NULL;
    if (strcmp (key, "agent") == 0 || seen) {
        if ((seen && *seen) || (!seen && host->agent [0])) {
            snprintf (err, err_size, "[%s] key '%s' given twice (or continued on an indented "
                      "line)", section, key);
            return -1;
        }
        char detail [512];
        if (config_set (s_host_keys, host, S_SECTION, key, value, detail, sizeof detail)) {
            snprintf (err, err_size, "[%s] %s", section, detail);
            return -1;
        }
        if (seen)
            *seen = true;
        return seen? 0: s_check_agent (section, host->agent, err, err_size);
    }
    if (strspn (key, S_OPTION_CHARS) != strlen (key)) {
        snprintf (err, err_size, "[%s] invalid option name '%s': use letters, digits, '_' "
                  "and '-'", section, key);
        return -1;
    }
    if (strpbrk (value, "\r\n")) {
        snprintf (err, err_size, "[%s] the value of option '%s' spans lines", section, key);
        return -1;
    }
    if (s_option_find (host, key)) {
        snprintf (err, err_size, "[%s] option '%s' given twice (or continued on an indented "
                  "line)", section, key);
        return -1;
    }
    if (s_option_add (host, key, value)) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

int
fence_config_load (const char *path, fence_config_t *out, char *err, size_t err_size)
{
    fence_config_init (out);
    s_load_t load = { out, NULL, false, false };
    if (config_each (path, s_load_entry, &load, err, err_size)) {
        fence_config_free (out);
        return -1;
    }
    for (size_t i = 0; i < out->hosts.count; i++) {
        const fence_host_t *host = vec_at (&out->hosts, i);
        if (!host->agent [0]) {
            snprintf (err, err_size, "config '%s': [%s %s] has no 'agent' key (the absolute "
                      "path of the host's fence agent)", path, S_SECTION, host->name);
            fence_config_free (out);
            return -1;
        }
    }
    return 0;
}

const char *
fence_outcome_name (fence_outcome_t outcome)
{
    return outcome == FENCE_CONFIRMED_OFF? "confirmed-off": "failed";
}

//  --------------------------------------------------------------------------
//  One run of an agent (in the worker)

typedef enum {
    S_RUN_EXITED,               // exited by itself: code is its exit status
    S_RUN_SIGNALED,             // killed by a signal not ours: code is the signal
    S_RUN_TIMED_OUT,            // reached the deadline and was killed
    S_RUN_STOPPED,              // killed because the runner is stopping
    S_RUN_NOT_STARTED,          // could not be started: code is the errno
    S_RUN_LOST                  // ended, but its exit status could not be had
} s_run_end_t;

//  The first S_CAPTURE bytes of an output.
typedef struct {
    char data [S_CAPTURE + 1];  // what was kept, NUL-terminated (may hold other NULs)
    size_t length;              // bytes kept
    bool truncated;             // more came than was kept
} s_capture_t;

typedef struct {
    const char *action;         // "off" or "status"
    s_run_end_t end;            // how it ended
    int code;                   // exit status, signal number or errno (see end)
    int64_t elapsed_ms;         // from spawn to reaped
    s_capture_t out;            // its stdout
    s_capture_t err;            // its stderr
} s_run_t;

//  A queued request.
typedef struct {
    char host [FENCE_NAME_SIZE];    // host to fence
    uint64_t request_id;            // the caller's id
} s_job_t;

//  The worker thread's state (on its stack).
typedef struct {
    zsock_t *pipe;                  // to the caller
    const fence_config_t *config;   // the runner's copy; read only
    vec_t queue;                    // s_job_t, oldest first
    bool stopping;                  // $TERM came, or the pipe failed
} s_worker_t;

static void
s_close (int *fd)
{
    if (*fd >= 0) {
        close (*fd);
        *fd = -1;
    }
}

//  pipe2 (O_CLOEXEC) with both ends above 2, so that the child's dup2 onto 0, 1 and 2
//  cannot overwrite one of them. 0, or -1 with errno set.
static int
s_pipe (int fds [2])
{
    if (pipe2 (fds, O_CLOEXEC))
        return -1;
    for (int i = 0; i < 2; i++)
        if (fds [i] < 3) {
            int moved = fcntl (fds [i], F_DUPFD_CLOEXEC, 3);
            int saved = errno;
            close (fds [i]);
            fds [i] = moved;
            if (moved < 0) {
                s_close (&fds [0]);
                s_close (&fds [1]);
                errno = saved;
                return -1;
            }
        }
    return 0;
}

//  The agent's stdin: action first, then the options in file order (caller wipes and
//  frees). NULL when out of memory.
static char *
s_input (const fence_host_t *host, const char *action, size_t *length)
{
    size_t size = strlen ("action=\n") + strlen (action) + 1;
    for (size_t i = 0; i < host->options.count; i++) {
        const fence_option_t *option = vec_at (&host->options, i);
        size += strlen (option->key) + strlen (option->value) + 2;
    }
    char *text = malloc (size);
    if (!text)
        return NULL;
    size_t used = (size_t) snprintf (text, size, "action=%s\n", action);
    for (size_t i = 0; i < host->options.count; i++) {
        const fence_option_t *option = vec_at (&host->options, i);
        used += (size_t) snprintf (text + used, size - used, "%s=%s\n", option->key,
                                   option->value);
    }
    *length = used;
    return text;
}

//  Starts path with in, out and err as its 0, 1 and 2 and nothing else open, in a new
//  process group, with default signal dispositions and an empty mask. 0, or an errno.
static int
s_spawn (const char *path, int in, int out, int err, pid_t *pid)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init (&actions);
    if (rc)
        return rc;
    rc = posix_spawnattr_init (&attr);
    if (rc) {
        posix_spawn_file_actions_destroy (&actions);
        return rc;
    }
    sigset_t none, all;
    sigemptyset (&none);
    sigfillset (&all);
    sigdelset (&all, SIGKILL);
    sigdelset (&all, SIGSTOP);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2 (&actions, in, 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2 (&actions, out, 1);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2 (&actions, err, 2);
    if (!rc)    //  whatever else is open in the daemon, with or without O_CLOEXEC
        rc = posix_spawn_file_actions_addclosefrom_np (&actions, 3);
    if (!rc)
        rc = posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                              | POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = posix_spawnattr_setpgroup (&attr, 0);
    if (!rc)
        rc = posix_spawnattr_setsigmask (&attr, &none);
    if (!rc)
        rc = posix_spawnattr_setsigdefault (&attr, &all);
    char *argv [] = { (char *) path, NULL };
    if (!rc)
        rc = posix_spawn (pid, path, &actions, &attr, argv, environ);
    posix_spawnattr_destroy (&attr);
    posix_spawn_file_actions_destroy (&actions);
    return rc;
}

//  Reads what is waiting on *fd (non-blocking) into capture, dropping what does not fit;
//  closes *fd at end of file or on an error.
static void
s_capture_read (int *fd, s_capture_t *capture)
{
    char buf [4096];
    for (int reads = 0; *fd >= 0 && reads < S_READS_PER_WAKE; reads++) {
        ssize_t got = read (*fd, buf, sizeof buf);
        if (got > 0) {
            size_t keep = S_CAPTURE - capture->length;
            if (keep > (size_t) got)
                keep = (size_t) got;
            memcpy (capture->data + capture->length, buf, keep);
            capture->length += keep;
            capture->data [capture->length] = 0;
            capture->truncated |= keep < (size_t) got;
        }
        else
        if (got < 0 && errno == EINTR)
            continue;
        else
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else
            s_close (fd);
    }
}

//  Writes more of input to the agent's stdin (non-blocking); closes *fd when all is
//  written, or when the agent closed its end (the SIGPIPE that raises is blocked in this
//  thread and taken back here).
static void
s_feed (int *fd, const char *input, size_t length, size_t *written)
{
    while (*fd >= 0 && *written < length) {
        ssize_t put = write (*fd, input + *written, length - *written);
        if (put > 0)
            *written += (size_t) put;
        else
        if (put < 0 && errno == EINTR)
            continue;
        else
        if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else {
            if (put < 0 && errno == EPIPE) {
                sigset_t pipe_signal;
                sigemptyset (&pipe_signal);
                sigaddset (&pipe_signal, SIGPIPE);
                struct timespec now = { 0, 0 };
                sigtimedwait (&pipe_signal, NULL, &now);
            }
            break;
        }
    }
    s_close (fd);
}

static void s_worker_receive (s_worker_t *self);

//  Runs host's agent with action, feeding its options, until it exits, deadline (boot ms)
//  passes, or the runner stops; always kills what is left of its process group and reaps
//  it. Describes the run in *run.
static void
s_run (s_worker_t *self, const fence_host_t *host, const char *action, int64_t deadline,
       s_run_t *run)
{
    memset (run, 0, sizeof *run);
    run->action = action;
    int64_t started = clock_boottime_ms ();
    size_t length = 0, written = 0;
    char *input = s_input (host, action, &length);
    int in [2] = { -1, -1 }, out [2] = { -1, -1 }, err [2] = { -1, -1 };
    pid_t pid = -1;
    int rc = input? 0: ENOMEM;
    if (!rc && (s_pipe (in) || s_pipe (out) || s_pipe (err)))
        rc = errno;
    if (!rc)
        rc = s_spawn (host->agent, in [0], out [1], err [1], &pid);
    s_close (&in [0]);
    s_close (&out [1]);
    s_close (&err [1]);
    if (rc) {
        s_close (&in [1]);
        s_close (&out [0]);
        s_close (&err [0]);
        if (input)
            explicit_bzero (input, length);
        free (input);
        run->end = S_RUN_NOT_STARTED;
        run->code = rc;
        run->elapsed_ms = clock_boottime_ms () - started;
        return;
    }
    fcntl (in [1], F_SETFL, O_NONBLOCK);
    fcntl (out [0], F_SETFL, O_NONBLOCK);
    fcntl (err [0], F_SETFL, O_NONBLOCK);
    bool exited = false, lost = false, timed_out = false;
    while (!self->stopping) {
        //  Exited? (WNOWAIT: the zombie keeps its pid, and so its process group, ours.)
        siginfo_t info;
        memset (&info, 0, sizeof info);
        if (waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
            if (info.si_pid == pid) {
                exited = true;
                break;
            }
        }
        else
        if (errno == ECHILD) {
            exited = lost = true;   // reaped behind our back (SIGCHLD ignored?)
            break;
        }
        int64_t now = clock_boottime_ms ();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        zmq_pollitem_t items [4];
        int count = 0, out_item = -1, err_item = -1, in_item = -1;
        items [count++] = (zmq_pollitem_t) { zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0 };
        if (out [0] >= 0) {
            out_item = count;
            items [count++] = (zmq_pollitem_t) { NULL, out [0], ZMQ_POLLIN, 0 };
        }
        if (err [0] >= 0) {
            err_item = count;
            items [count++] = (zmq_pollitem_t) { NULL, err [0], ZMQ_POLLIN, 0 };
        }
        if (in [1] >= 0) {
            in_item = count;
            items [count++] = (zmq_pollitem_t) { NULL, in [1], ZMQ_POLLOUT, 0 };
        }
        //  An agent's exit usually shows as the end of its output; one whose output is
        //  held open by a child of its own is seen at the next tick.
        long wait_ms = (long) (deadline - now);
        if (wait_ms > S_EXIT_TICK_MS)
            wait_ms = S_EXIT_TICK_MS;
        if (zmq_poll (items, count, wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            self->stopping = true;  // the context is ending
            break;
        }
        if (items [0].revents)
            s_worker_receive (self);
        if (out_item >= 0 && items [out_item].revents)
            s_capture_read (&out [0], &run->out);
        if (err_item >= 0 && items [err_item].revents)
            s_capture_read (&err [0], &run->err);
        if (in_item >= 0 && items [in_item].revents)
            s_feed (&in [1], input, length, &written);
    }
    if (!exited)
        kill (pid, SIGKILL);
    kill (-pid, SIGKILL);           // the rest of its process group, if any
    int status = 0;
    if (!lost)
        while (waitpid (pid, &status, 0) < 0)
            if (errno != EINTR) {
                lost = true;
                break;
            }
    //  What it wrote before it ended is still in the pipes (but a grandchild that kept
    //  them open is not waited for: this reads only what is there).
    s_capture_read (&out [0], &run->out);
    s_capture_read (&err [0], &run->err);
    s_close (&in [1]);
    s_close (&out [0]);
    s_close (&err [0]);
    explicit_bzero (input, length);
    free (input);
    run->elapsed_ms = clock_boottime_ms () - started;
    if (!exited)
        run->end = timed_out? S_RUN_TIMED_OUT: S_RUN_STOPPED;
    else
    if (lost)
        run->end = S_RUN_LOST;
    else
    if (WIFEXITED (status)) {
        run->end = S_RUN_EXITED;
        run->code = WEXITSTATUS (status);
    }
    else {
        run->end = S_RUN_SIGNALED;
        run->code = WIFSIGNALED (status)? WTERMSIG (status): 0;
    }
}

//  The agent's file name, for reasons.
static const char *
s_agent_name (const fence_host_t *host)
{
    const char *slash = strrchr (host->agent, '/');
    return slash? slash + 1: host->agent;
}

//  What the agent said (its stderr, else its stdout), fit for a reason, into buf: values
//  of options named like a password replaced by "****" (and a secret's beginning cut off
//  at the end of a truncated capture), control characters and runs of spaces as one space.
static void
s_said (const fence_host_t *host, const s_run_t *run, char *buf, size_t size)
{
    const s_capture_t *capture = run->err.length? &run->err: &run->out;
    const char *text = capture->data;
    size_t length = capture->length, used = 0, i = 0;
    bool space = true;          // the last character put was a space (or none yet)
    while (i < length && used + 8 < size) {
        size_t skip = 0;
        bool cut = false;
        for (size_t o = 0; o < host->options.count && !skip && !cut; o++) {
            const fence_option_t *option = vec_at (&host->options, o);
            size_t secret = strlen (option->value);
            if (!secret || !strcasestr (option->key, "pass"))
                continue;
            if (length - i >= secret && memcmp (text + i, option->value, secret) == 0)
                skip = secret;
            else
            if (capture->truncated && length - i < secret
            &&  memcmp (text + i, option->value, length - i) == 0)
                cut = true;
        }
        if (cut)
            break;
        if (skip) {
            memcpy (buf + used, "****", 4);
            used += 4;
            i += skip;
            space = false;
            continue;
        }
        unsigned char c = (unsigned char) text [i++];
        if (c <= ' ' || c == 0x7f) {
            if (!space)
                buf [used++] = ' ';
            space = true;
        }
        else {
            buf [used++] = (char) c;
            space = false;
        }
    }
    while (used && buf [used - 1] == ' ')
        used--;
    if (capture->truncated && used && used + 4 < size) {
        memcpy (buf + used, " ...", 4);
        used += 4;
    }
    buf [used] = 0;
}

//  Appends text to the string in buf (size bytes), cut short when it does not fit.
static void
s_append (char *buf, size_t size, const char *text)
{
    size_t used = strlen (buf), length = strlen (text);
    if (used + 1 >= size)
        return;
    if (length > size - used - 1)
        length = size - used - 1;
    memcpy (buf + used, text, length);
    buf [used + length] = 0;
}

//  A run that did not go as hoped, in words: "fence_x exited 1: Unable to connect".
static void
s_describe (const fence_host_t *host, const s_run_t *run, char *reason, size_t size)
{
    const char *name = s_agent_name (host);
    switch (run->end) {
        case S_RUN_EXITED:
            snprintf (reason, size, "%s exited %d", name, run->code);
            break;
        case S_RUN_SIGNALED:
            snprintf (reason, size, "%s was killed by signal %d", name, run->code);
            break;
        case S_RUN_TIMED_OUT:
            snprintf (reason, size, "%s timed out after %" PRId64 " ms (action=%s) and was "
                      "killed", name, run->elapsed_ms, run->action);
            break;
        case S_RUN_STOPPED:
            snprintf (reason, size, "%s was killed: the fence runner is stopping", name);
            return;
        case S_RUN_NOT_STARTED:
            snprintf (reason, size, "cannot run '%s': %s", host->agent, strerror (run->code));
            return;
        case S_RUN_LOST:
            snprintf (reason, size, "%s ended but its exit status was lost (is SIGCHLD "
                      "ignored?)", name);
            break;
    }
    char said [S_CAPTURE + 16];
    s_said (host, run, said, sizeof said);
    if (said [0]) {
        s_append (reason, size, ": ");
        s_append (reason, size, said);
    }
}

//  --------------------------------------------------------------------------
//  The worker

//  Reads every message waiting on the pipe: requests join the queue, anything else
//  ($TERM) stops the worker.
static void
s_worker_receive (s_worker_t *self)
{
    while (!self->stopping && (zsock_events (self->pipe) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv (self->pipe);
        if (!msg) {
            if (errno == EINTR)
                continue;
            self->stopping = true;
            break;
        }
        char *verb = zmsg_popstr (msg);
        char *host = zmsg_popstr (msg);
        char *id = zmsg_popstr (msg);
        if (verb && host && id && strcmp (verb, "FENCE") == 0) {
            s_job_t job = { .request_id = strtoull (id, NULL, 10) };
            snprintf (job.host, sizeof job.host, "%s", host);
            if (!vec_push (&self->queue, &job))
                log_error ("cannot fence host '%s': out of memory (request %s dropped)",
                           host, id);
        }
        else
            self->stopping = true;
        free (verb);
        free (host);
        free (id);
        zmsg_destroy (&msg);
    }
}

//  Waits up to timeout_ms (-1: for ever) for a message, and reads what came.
static void
s_worker_wait (s_worker_t *self, long timeout_ms)
{
    zmq_pollitem_t item = { zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0 };
    int rc = zmq_poll (&item, 1, timeout_ms);
    if (rc > 0)
        s_worker_receive (self);
    else
    if (rc < 0 && errno != EINTR)
        self->stopping = true;
}

//  Waits ms while still reading requests (and $TERM).
static void
s_worker_pause (s_worker_t *self, uint64_t ms)
{
    int64_t until = clock_boottime_ms () + (int64_t) ms;
    for (int64_t now = clock_boottime_ms (); !self->stopping && now < until;
         now = clock_boottime_ms ())
        s_worker_wait (self, (long) (until - now));
}

static void
s_worker_send (s_worker_t *self, const fence_result_t *result)
{
    zmsg_t *msg = zmsg_new ();
    if (msg) {
        zmsg_addstr (msg, "RESULT");
        zmsg_addstr (msg, result->host_name);
        zmsg_addstrf (msg, "%" PRIu64, result->request_id);
        zmsg_addstrf (msg, "%d", (int) result->outcome);
        zmsg_addstr (msg, result->reason);
        zmsg_addstrf (msg, "%" PRIu64, result->elapsed_ms);
    }
    if (!msg || zmsg_send (&msg, self->pipe)) {
        zmsg_destroy (&msg);
        log_error ("fence host '%s': cannot deliver the result (%s): %s", result->host_name,
                   fence_outcome_name (result->outcome), result->reason);
    }
}

//  After an off that succeeded: status runs, poll_ms apart, until one says off or the
//  deadline is near. Fills result's outcome and reason. The verdict on a failure is the
//  last status that ended by itself (a run killed at the deadline only counts when no
//  other answered). False when the runner is stopping (no result then).
static bool
s_confirm (s_worker_t *self, const fence_host_t *host, int64_t started, int64_t deadline,
           fence_result_t *result)
{
    s_run_t run, answer;        // the latest status run; the latest that ended by itself
    bool answered = false;
    while (true) {
        s_run (self, host, "status", deadline, &run);
        if (self->stopping)
            return false;
        int64_t now = clock_boottime_ms ();
        if (run.end == S_RUN_EXITED && run.code == 2) {
            result->outcome = FENCE_CONFIRMED_OFF;
            snprintf (result->reason, sizeof result->reason,
                      "off confirmed by status after %" PRId64 " ms", now - started);
            return true;
        }
        if (run.end != S_RUN_TIMED_OUT) {
            answer = run;
            answered = true;
        }
        bool on = run.end == S_RUN_EXITED && run.code == 0;
        if (now + (int64_t) host->poll_ms >= deadline) {
            const s_run_t *last = answered? &answer: &run;
            if (last->end == S_RUN_EXITED && last->code == 0)
                snprintf (result->reason, sizeof result->reason, "status still on after %"
                          PRId64 " ms (timeout_ms %" PRIu64 ")", now - started,
                          host->timeout_ms);
            else {
                char said [FENCE_REASON_SIZE - 128];
                s_describe (host, last, said, sizeof said);
                snprintf (result->reason, sizeof result->reason, "status not off after %"
                          PRId64 " ms (timeout_ms %" PRIu64 "); last status: %s",
                          now - started, host->timeout_ms, said);
            }
            return true;
        }
        if (!on) {
            char said [FENCE_REASON_SIZE];
            s_describe (host, &run, said, sizeof said);
            log_debug ("fence host '%s': status failed (%s); again in %" PRIu64 " ms",
                       host->name, said, host->poll_ms);
        }
        s_worker_pause (self, host->poll_ms);
        if (self->stopping)
            return false;
    }
}

//  The whole procedure for one request: off, then status until off or the deadline.
//  Sends the result, unless the runner is stopping.
static void
s_fence (s_worker_t *self, const s_job_t *job)
{
    fence_result_t result = { .request_id = job->request_id, .outcome = FENCE_FAILED };
    snprintf (result.host_name, sizeof result.host_name, "%s", job->host);
    int64_t started = clock_boottime_ms ();
    const fence_host_t *host = fence_config_find (self->config, job->host);
    if (!host) {                // fence_runner_request checks: cannot happen
        snprintf (result.reason, sizeof result.reason, "host has no fence device");
        s_worker_send (self, &result);
        return;
    }
    int64_t deadline = started + (int64_t) host->timeout_ms;
    log_info ("fence host '%s': running %s action=off (request %" PRIu64 ", timeout %"
              PRIu64 " ms)", host->name, host->agent, job->request_id, host->timeout_ms);
    s_run_t run;
    s_run (self, host, "off", deadline, &run);
    if (self->stopping)
        return;
    if (run.end != S_RUN_EXITED || run.code != 0)
        s_describe (host, &run, result.reason, sizeof result.reason);
    else {
        log_debug ("fence host '%s': off done in %" PRId64 " ms; asking for its status",
                   host->name, run.elapsed_ms);
        if (!s_confirm (self, host, started, deadline, &result))
            return;
    }
    result.elapsed_ms = (uint64_t) (clock_boottime_ms () - started);
    log_debug ("fence host '%s': %s after %" PRIu64 " ms: %s", host->name,
               fence_outcome_name (result.outcome), result.elapsed_ms, result.reason);
    s_worker_send (self, &result);
}

//  The worker thread: one fence at a time, in the order requested.
static void
s_worker (zsock_t *pipe, void *arg)
{
    //  Signals go to the daemon's other threads; a SIGPIPE from writing to an agent that
    //  closed its stdin stays pending here and is taken back (s_feed).
    sigset_t blocked;
    sigemptyset (&blocked);
    int signals [] = { SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
                       SIGALRM };
    for (size_t i = 0; i < sizeof signals / sizeof signals [0]; i++)
        sigaddset (&blocked, signals [i]);
    pthread_sigmask (SIG_BLOCK, &blocked, NULL);
    s_worker_t self = { pipe, arg, VEC_OF (s_job_t), false };
    zsock_signal (pipe, 0);
    while (!self.stopping) {
        if (self.queue.count == 0) {
            s_worker_wait (&self, -1);
            continue;
        }
        s_job_t job = *(s_job_t *) vec_at (&self.queue, 0);
        vec_remove (&self.queue, 0);
        s_fence (&self, &job);
    }
    vec_free (&self.queue);
}

//  --------------------------------------------------------------------------
//  The runner (the caller's side)

//  A host requested whose result is not taken yet.
typedef struct {
    char host [FENCE_NAME_SIZE];    // its name
} s_pending_t;

struct fence_runner {
    fence_config_t config;      // our copy; the worker reads it until it has ended
    zactor_t *worker;           // the worker thread
    vec_t pending;              // s_pending_t: requested, result not taken
};

fence_runner_t *
fence_runner_new (const fence_config_t *config, char *err, size_t err_size)
{
    fence_runner_t *self = calloc (1, sizeof *self);
    if (!self || fence_config_copy (config, &self->config)) {
        snprintf (err, err_size, "cannot start the fence runner: out of memory");
        free (self);
        return NULL;
    }
    self->pending = VEC_OF (s_pending_t);
    self->worker = zactor_new (s_worker, &self->config);
    if (!self->worker) {
        snprintf (err, err_size, "cannot start the fence runner's thread");
        fence_config_free (&self->config);
        free (self);
        return NULL;
    }
    return self;
}

void
fence_runner_destroy (fence_runner_t **self_p)
{
    fence_runner_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy (&self->worker);     // $TERM: the worker kills its agent and ends
    fence_config_free (&self->config);
    vec_free (&self->pending);
    free (self);
    *self_p = NULL;
}

//  Index of host_name in pending, or -1.
static long
s_pending_index (const fence_runner_t *self, const char *host_name)
{
    for (size_t i = 0; i < self->pending.count; i++)
        if (strcmp (((s_pending_t *) vec_at (&self->pending, i))->host, host_name) == 0)
            return (long) i;
    return -1;
}

bool
fence_runner_pending (const fence_runner_t *self, const char *host_name)
{
    return s_pending_index (self, host_name) >= 0;
}

int
fence_runner_request (fence_runner_t *self, const char *host_name, uint64_t request_id)
{
    if (!fence_config_find (&self->config, host_name)) {
        log_error ("cannot fence host '%s': the configuration has no [%s %s] section",
                   host_name, S_SECTION, host_name);
        return -1;
    }
    if (fence_runner_pending (self, host_name)) {
        log_debug ("fence host '%s': request %" PRIu64 " joins the one in progress",
                   host_name, request_id);
        return 1;
    }
    s_pending_t pending;
    snprintf (pending.host, sizeof pending.host, "%s", host_name);
    if (!vec_push (&self->pending, &pending)) {
        log_error ("cannot fence host '%s': out of memory", host_name);
        return -1;
    }
    zmsg_t *msg = zmsg_new ();
    if (msg) {
        zmsg_addstr (msg, "FENCE");
        zmsg_addstr (msg, host_name);
        zmsg_addstrf (msg, "%" PRIu64, request_id);
    }
    if (!msg || zmsg_send (&msg, zactor_sock (self->worker))) {
        zmsg_destroy (&msg);
        vec_remove (&self->pending, self->pending.count - 1);
        log_error ("cannot fence host '%s': the fence runner does not take requests",
                   host_name);
        return -1;
    }
    return 0;
}

zsock_t *
fence_runner_socket (fence_runner_t *self)
{
    return zactor_sock (self->worker);
}

int
fence_runner_take (fence_runner_t *self, fence_result_t *out)
{
    zsock_t *pipe = zactor_sock (self->worker);
    while (zsock_events (pipe) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            return -1;
        char *verb = zmsg_popstr (msg);
        bool result = verb && strcmp (verb, "RESULT") == 0 && zmsg_size (msg) == 5;
        free (verb);
        if (!result) {          // nothing else is sent this way
            zmsg_destroy (&msg);
            continue;
        }
        char *host = zmsg_popstr (msg);
        char *id = zmsg_popstr (msg);
        char *outcome = zmsg_popstr (msg);
        char *reason = zmsg_popstr (msg);
        char *elapsed = zmsg_popstr (msg);
        zmsg_destroy (&msg);
        memset (out, 0, sizeof *out);
        snprintf (out->host_name, sizeof out->host_name, "%s", host? host: "");
        out->request_id = id? strtoull (id, NULL, 10): 0;
        out->outcome = outcome && atoi (outcome) == FENCE_CONFIRMED_OFF?
                       FENCE_CONFIRMED_OFF: FENCE_FAILED;
        snprintf (out->reason, sizeof out->reason, "%s", reason? reason: "");
        out->elapsed_ms = elapsed? strtoull (elapsed, NULL, 10): 0;
        free (host);
        free (id);
        free (outcome);
        free (reason);
        free (elapsed);
        long index = s_pending_index (self, out->host_name);
        if (index >= 0)
            vec_remove (&self->pending, (size_t) index);
        return 0;
    }
    return -1;
}
