/*  hv_libvirt.c - the hypervisor interface on libvirt (the only file including libvirt.h).

    Owns one libvirt connection and the notification pipe; the thread that runs libvirt's
    default event loop is shared by all instances (see below). The event thread does nothing but dispatch: the lifecycle callback
    copies (event, uuid, name) into a note and the close callback posts a disconnect note;
    the agent thread reads the domain's state itself. Capacity comes from virNodeGetInfo and
    the capabilities XML (read with libxml2 XPath); usage from virDomainGetInfo (cpuTime)
    and the bulk stats API (virConnectGetAllDomainStats / virDomainListGetStats, groups
    CPU_TOTAL, VCPU and BALLOON) when the driver has it: cpu.time replaces cpuTime, the
    vcpu.N.delay are summed, balloon.rss and balloon.current are passed on as they are. The
    test driver gives no stats fields (those are then simply absent) and reports the wall
    clock as cpuTime.

    libvirt's event implementation is process-wide, so its loop thread is too: registered
    once (pthread_once), started by the first instance that connects and stopped by the last
    one destroyed (a reference count under a mutex: the one piece of process-wide state,
    forced by libvirt's API). The main instance registers for lifecycle events and connection
    loss; shared instances (hv_share, for worker threads) have their own connection and no
    callbacks. Domains change only through the start/stop/migrate/abort operations.
*/
#include "hv.h"
#include "log.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_KEEPALIVE_INTERVAL_S  5   // remote connections: probe libvirtd every 5 s ...
#define S_KEEPALIVE_COUNT       3   // ... and give up after 3 unanswered probes

typedef struct libvirt_hv {
    char *uri;                  // libvirt connection URI
    bool events;                // register lifecycle and close callbacks (main instance)
    virConnectPtr conn;         // NULL when not connected
    int lifecycle_id;           // event callback id, -1 when none
    int pipe_read;              // notification pipe, read end (agent thread, non-blocking)
    int pipe_write;             // notification pipe, write end (event thread)
    bool holds_loop;            // this instance counts in s_loop.users
    pthread_mutex_t conn_lock;  // guards conn while shared instances borrow it
    struct libvirt_hv *parent;  // shared instance of a private-world URI: borrow its
                                // connection (test:///FILE gives every connection its own
                                // hypervisor, so a second connection would see nothing)
} libvirt_hv_t;

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_once_rc;           // result of the one-time libvirt set-up (written once)

//  The process-wide event loop thread, shared by every instance.
static struct {
    pthread_mutex_t lock;       // guards the fields below
    int users;                  // instances holding the loop
    pthread_t thread;           // runs virEventRunDefaultImpl while users > 0
    atomic_bool quit;           // asks the thread to end
} s_loop = { PTHREAD_MUTEX_INITIALIZER, 0, 0, false };

//  libvirt prints every error to stderr by default; we report errors ourselves, once.
static void
s_quiet (void *opaque, virErrorPtr error)
{
    (void) opaque;
    (void) error;
}

static void
s_process_init (void)
{
    s_once_rc = virInitialize () || virEventRegisterDefaultImpl ()? -1: 0;
    virSetErrorFunc (NULL, s_quiet);
    xmlInitParser ();
}

//  Formats "what: libvirt's last error" into err.
static void
s_error (char *err, size_t err_size, const char *what)
{
    const char *cause = virGetLastErrorMessage ();
    snprintf (err, err_size, "%s: %s", what, cause? cause: "unknown libvirt error");
}

//  --------------------------------------------------------------------------
//  Event thread

static void *
s_event_loop (void *arg)
{
    (void) arg;
    while (!atomic_load (&s_loop.quit))
        if (virEventRunDefaultImpl () < 0) {
            log_error ("libvirt event loop failed: %s", virGetLastErrorMessage ());
            break;
        }
    return NULL;
}

//  One-shot timer that only makes virEventRunDefaultImpl return (to see the quit flag).
static void
s_wake (int timer, void *opaque)
{
    (void) opaque;
    virEventRemoveTimeout (timer);
}

//  Counts self as a user of the event loop, starting its thread for the first one.
static int
s_loop_hold (libvirt_hv_t *self)
{
    if (self->holds_loop)
        return 0;
    pthread_mutex_lock (&s_loop.lock);
    int rc = 0;
    if (s_loop.users == 0) {
        atomic_store (&s_loop.quit, false);
        rc = pthread_create (&s_loop.thread, NULL, s_event_loop, NULL)? -1: 0;
    }
    if (rc == 0) {
        s_loop.users++;
        self->holds_loop = true;
    }
    pthread_mutex_unlock (&s_loop.lock);
    return rc;
}

//  Drops self's use of the event loop; the last user stops and joins its thread.
static void
s_loop_release (libvirt_hv_t *self)
{
    if (!self->holds_loop)
        return;
    self->holds_loop = false;
    pthread_mutex_lock (&s_loop.lock);
    if (--s_loop.users == 0) {
        atomic_store (&s_loop.quit, true);
        if (virEventAddTimeout (0, s_wake, NULL, NULL) < 0)
            log_warn ("cannot wake the libvirt event thread; it ends with the process");
        else
            pthread_join (s_loop.thread, NULL);
    }
    pthread_mutex_unlock (&s_loop.lock);
}

static int
s_on_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void) conn;
    (void) detail;
    libvirt_hv_t *self = opaque;
    hv_note_t note = { .kind = HV_NOTE_EVENT, .event = hv_event_from_number (event) };
    char uuid [VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString (dom, uuid) == 0)
        snprintf (note.uuid, sizeof note.uuid, "%s", uuid);
    const char *name = virDomainGetName (dom);
    snprintf (note.name, sizeof note.name, "%s", name? name: "");
    if (hv_post_note (self->pipe_write, &note))
        log_warn ("cannot queue a libvirt event for domain '%s': %s", note.name, strerror (errno));
    return 0;
}

static void
s_on_close (virConnectPtr conn, int reason, void *opaque)
{
    (void) conn;
    libvirt_hv_t *self = opaque;
    static const char *reasons [] = { "error", "end of file", "keepalive timeout", "client" };
    log_warn ("libvirt connection to '%s' lost (%s)", self->uri,
              reason >= 0 && reason < 4? reasons [reason]: "unknown reason");
    hv_note_t note = { .kind = HV_NOTE_DISCONNECTED };
    hv_post_note (self->pipe_write, &note);
}

//  --------------------------------------------------------------------------
//  Connection

static void
s_disconnect (void *impl)
{
    libvirt_hv_t *self = impl;
    if (!self->conn)
        return;
    pthread_mutex_lock (&self->conn_lock);
    if (self->lifecycle_id >= 0)
        virConnectDomainEventDeregisterAny (self->conn, self->lifecycle_id);
    self->lifecycle_id = -1;
    if (self->events)
        virConnectUnregisterCloseCallback (self->conn, s_on_close);
    virConnectClose (self->conn);           // a borrowed connection: one reference less
    self->conn = NULL;
    pthread_mutex_unlock (&self->conn_lock);
}

//  A shared instance of a private-world URI takes a reference on its parent's connection.
static int
s_borrow (libvirt_hv_t *self, char *err, size_t err_size)
{
    pthread_mutex_lock (&self->parent->conn_lock);
    virConnectPtr conn = self->parent->conn;
    if (conn)
        virConnectRef (conn);
    pthread_mutex_unlock (&self->parent->conn_lock);
    if (!conn) {
        snprintf (err, err_size, "not connected to '%s' yet", self->uri);
        return -1;
    }
    self->conn = conn;
    return 0;
}

static int
s_connect (void *impl, char *err, size_t err_size)
{
    libvirt_hv_t *self = impl;
    if (s_once_rc) {
        snprintf (err, err_size, "cannot initialise libvirt's event loop");
        return -1;
    }
    if (s_loop_hold (self)) {
        snprintf (err, err_size, "cannot start the libvirt event thread");
        return -1;
    }
    if (self->parent)
        return s_borrow (self, err, err_size);
    virConnectPtr conn = virConnectOpen (self->uri);
    pthread_mutex_lock (&self->conn_lock);
    self->conn = conn;
    pthread_mutex_unlock (&self->conn_lock);
    if (!self->conn) {
        char what [512];
        snprintf (what, sizeof what, "cannot connect to '%s'", self->uri);
        s_error (err, err_size, what);
        return -1;
    }
    //  Only remote drivers support keepalive; local ones answer -1 or 1, both harmless.
    virConnectSetKeepAlive (self->conn, S_KEEPALIVE_INTERVAL_S, S_KEEPALIVE_COUNT);
    virResetLastError ();
    if (!self->events)
        return 0;
    self->lifecycle_id = virConnectDomainEventRegisterAny (
        self->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        VIR_DOMAIN_EVENT_CALLBACK (s_on_lifecycle), self, NULL);
    if (self->lifecycle_id < 0) {
        s_error (err, err_size, "cannot register for domain lifecycle events");
        s_disconnect (self);
        return -1;
    }
    //  Local drivers (test:///) never close on their own and may not support this.
    if (virConnectRegisterCloseCallback (self->conn, s_on_close, self, NULL) < 0)
        log_debug ("no close callback for '%s': %s", self->uri, virGetLastErrorMessage ());
    return 0;
}

//  --------------------------------------------------------------------------
//  Capacity

//  Evaluates expr as a string ("" when absent) into out.
static void
s_xpath_string (xmlXPathContextPtr ctx, const char *expr, char *out, size_t size)
{
    out [0] = 0;
    xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
    if (obj && obj->type == XPATH_STRING && obj->stringval)
        snprintf (out, size, "%s", (const char *) obj->stringval);
    xmlXPathFreeObject (obj);
}

//  Evaluates expr as a number (0 when absent or not a number).
static uint64_t
s_xpath_number (xmlXPathContextPtr ctx, const char *expr)
{
    xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
    double value = obj && obj->type == XPATH_NUMBER? obj->floatval: 0;
    xmlXPathFreeObject (obj);
    return value > 0 && value < 1e18? (uint64_t) value: 0;
}

//  Joins the host CPU's feature names, space separated.
static void
s_cpu_flags (xmlXPathContextPtr ctx, char *out, size_t size)
{
    out [0] = 0;
    xmlXPathObjectPtr obj = xmlXPathEvalExpression (
        (const xmlChar *) "/capabilities/host/cpu/feature/@name", ctx);
    size_t used = 0;
    for (int i = 0; obj && obj->nodesetval && i < obj->nodesetval->nodeNr; i++) {
        xmlChar *name = xmlNodeGetContent (obj->nodesetval->nodeTab [i]);
        int n = snprintf (out + used, size - used, "%s%s", used? " ": "", (const char *) name);
        xmlFree (name);
        if (n < 0 || (size_t) n >= size - used) {
            out [used] = 0;         // keep whole names only
            break;
        }
        used += (size_t) n;
    }
    xmlXPathFreeObject (obj);
}

static void
s_numa_cells (xmlXPathContextPtr ctx, wire_capacity_t *out)
{
    xmlXPathObjectPtr cells = xmlXPathEvalExpression (
        (const xmlChar *) "/capabilities/host/topology/cells/cell", ctx);
    for (int i = 0; cells && cells->nodesetval && i < cells->nodesetval->nodeNr
                    && out->numa_count < WIRE_MAX_NUMA; i++) {
        ctx->node = cells->nodesetval->nodeTab [i];
        wire_numa_t *cell = &out->numa [out->numa_count++];
        cell->id = (uint32_t) s_xpath_number (ctx, "number(@id)");
        cell->cpus = (uint32_t) s_xpath_number (ctx, "count(cpus/cpu)");
        uint64_t memory = s_xpath_number (ctx, "number(memory)");
        char unit [16];
        s_xpath_string (ctx, "string(memory/@unit)", unit, sizeof unit);
        cell->memory_mib = strcmp (unit, "MiB") == 0? memory
                         : strcmp (unit, "GiB") == 0? memory * 1024: memory / 1024;
    }
    xmlXPathFreeObject (cells);
}

//  True when /sys says the kvm module for this vendor has nested virtualization on.
static bool
s_nested_enabled (const char *flags)
{
    const char *path = NULL;
    char padded [WIRE_FLAGS_SIZE + 2];
    snprintf (padded, sizeof padded, " %s ", flags);
    if (strstr (padded, " vmx "))
        path = "/sys/module/kvm_intel/parameters/nested";
    else
    if (strstr (padded, " svm "))
        path = "/sys/module/kvm_amd/parameters/nested";
    if (!path)
        return false;
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    int c = fgetc (file);
    fclose (file);
    return c == 'Y' || c == 'y' || c == '1';
}

static int
s_capacity (void *impl, wire_capacity_t *out, char *err, size_t err_size)
{
    libvirt_hv_t *self = impl;
    virNodeInfo info;
    if (virNodeGetInfo (self->conn, &info) < 0) {
        s_error (err, err_size, "cannot read node info");
        return -1;
    }
    out->cpus = info.cpus;
    out->memory_mib = info.memory / 1024;

    char *caps = virConnectGetCapabilities (self->conn);
    if (!caps) {
        s_error (err, err_size, "cannot read capabilities");
        return -1;
    }
    xmlDocPtr doc = xmlReadMemory (caps, (int) strlen (caps), "capabilities.xml", NULL,
                                   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    free (caps);
    xmlXPathContextPtr ctx = doc? xmlXPathNewContext (doc): NULL;
    if (!ctx) {
        snprintf (err, err_size, "cannot parse the capabilities XML of '%s'", self->uri);
        xmlFreeDoc (doc);
        return -1;
    }
    s_xpath_string (ctx, "string(/capabilities/host/cpu/model)", out->cpu_model,
                    sizeof out->cpu_model);
    s_cpu_flags (ctx, out->cpu_flags, sizeof out->cpu_flags);
    s_numa_cells (ctx, out);
    xmlXPathFreeContext (ctx);
    xmlFreeDoc (doc);
    out->nested = s_nested_enabled (out->cpu_flags);
    return 0;
}

//  --------------------------------------------------------------------------
//  Domains

//  Fills out from one domain handle. Returns 0, or -1 with libvirt's error code kept.
static int
s_describe (virDomainPtr dom, wire_domain_t *out)
{
    char uuid [VIR_UUID_STRING_BUFLEN];
    virDomainInfo info;
    if (virDomainGetUUIDString (dom, uuid) < 0 || virDomainGetInfo (dom, &info) < 0)
        return -1;
    snprintf (out->uuid, sizeof out->uuid, "%s", uuid);
    const char *name = virDomainGetName (dom);
    snprintf (out->name, sizeof out->name, "%s", name? name: "");
    out->state = hv_state_from_number (info.state);
    out->vcpus = info.nrVirtCpu;
    out->memory_kib = info.memory;
    out->persistent = virDomainIsPersistent (dom) == 1;
    bool active = virDomainIsActive (dom) == 1;
    out->has_cpu_time = active;
    out->cpu_time_ns = active? info.cpuTime: 0;
    return 0;
}

//  Adds CPU time, vCPU delay, RSS and balloon size from one stats record to the matching
//  domain of the array.
static void
s_apply_stats (virDomainStatsRecordPtr record, wire_domain_t *domains, uint32_t count)
{
    char uuid [VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString (record->dom, uuid) < 0)
        return;
    wire_domain_t *domain = NULL;
    for (uint32_t i = 0; i < count && !domain; i++)
        if (strcmp (domains [i].uuid, uuid) == 0)
            domain = &domains [i];
    if (!domain)
        return;
    for (int i = 0; i < record->nparams; i++) {
        virTypedParameterPtr param = &record->params [i];
        const char *field = param->field;
        if (param->type != VIR_TYPED_PARAM_ULLONG)
            continue;
        //  vcpu.N.delay (libvirt >= 7.9); not vcpu.N.wait, which is time blocked on I/O.
        size_t length = strlen (field);
        if (strncmp (field, "vcpu.", 5) == 0 && length > 6
        &&  strcmp (field + length - 6, ".delay") == 0) {
            domain->has_vcpu_delay = true;
            domain->vcpu_delay_ns += param->value.ul;
        }
        else
        if (strcmp (field, "cpu.time") == 0) {
            domain->has_cpu_time = true;
            domain->cpu_time_ns = param->value.ul;
        }
        else
        if (strcmp (field, "balloon.rss") == 0) {
            domain->has_rss = true;
            domain->rss_kib = param->value.ul;
        }
        else
        if (strcmp (field, "balloon.current") == 0) {
            domain->has_balloon = true;
            domain->balloon_kib = param->value.ul;
        }
    }
}

//  Bulk usage stats for running domains: doms NULL means all of the connection.
static void
s_usage (libvirt_hv_t *self, virDomainPtr *doms, wire_domain_t *domains, uint32_t count)
{
    virDomainStatsRecordPtr *records = NULL;
    unsigned int groups = VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_VCPU
                        | VIR_DOMAIN_STATS_BALLOON;
    int n = doms? virDomainListGetStats (doms, groups, &records, 0)
                : virConnectGetAllDomainStats (self->conn, groups, &records,
                                               VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE);
    if (n < 0) {
        log_debug ("no usage statistics from '%s': %s", self->uri, virGetLastErrorMessage ());
        return;
    }
    for (int i = 0; i < n; i++)
        s_apply_stats (records [i], domains, count);
    virDomainStatsRecordListFree (records);
}

static int
s_list (void *impl, wire_domain_t **domains, uint32_t *count, char *err, size_t err_size)
{
    libvirt_hv_t *self = impl;
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains (self->conn, &doms, 0);
    if (n < 0) {
        s_error (err, err_size, "cannot list domains");
        return -1;
    }
    if (n > WIRE_MAX_DOMAINS)
        log_warn ("'%s' has %d domains; reporting the first %d", self->uri, n, WIRE_MAX_DOMAINS);
    wire_domain_t *out = calloc (n > 0? (size_t) n: 1, sizeof *out);
    uint32_t used = 0;
    for (int i = 0; out && i < n; i++) {
        //  A domain may vanish between listing and reading it: skip it (an event follows).
        if (used < WIRE_MAX_DOMAINS && s_describe (doms [i], &out [used]) == 0)
            used++;
        virDomainFree (doms [i]);
    }
    free (doms);
    if (!out) {
        snprintf (err, err_size, "out of memory listing %d domains", n);
        return -1;
    }
    s_usage (self, NULL, out, used);
    *domains = out;
    *count = used;
    return 0;
}

static int
s_lookup (void *impl, const char *uuid, wire_domain_t *out, char *err, size_t err_size)
{
    libvirt_hv_t *self = impl;
    virDomainPtr dom = virDomainLookupByUUIDString (self->conn, uuid);
    if (!dom) {
        if (virGetLastErrorCode () == VIR_ERR_NO_DOMAIN)
            return 0;
        char what [128];
        snprintf (what, sizeof what, "cannot look up domain %s", uuid);
        s_error (err, err_size, what);
        return -1;
    }
    int rc = s_describe (dom, out);
    if (rc == 0 && virDomainIsActive (dom) == 1) {
        virDomainPtr doms [2] = { dom, NULL };
        s_usage (self, doms, out, 1);
    }
    bool gone = rc < 0 && virGetLastErrorCode () == VIR_ERR_NO_DOMAIN;
    if (rc < 0 && !gone) {
        char what [128];
        snprintf (what, sizeof what, "cannot read domain %s", uuid);
        s_error (err, err_size, what);
    }
    virDomainFree (dom);
    return rc == 0? 1: gone? 0: -1;
}

//  --------------------------------------------------------------------------
//  Domain operations

//  The domain with uuid, or NULL: *gone says whether it simply does not exist.
static virDomainPtr
s_domain (libvirt_hv_t *self, const char *uuid, bool *gone, char *err, size_t err_size)
{
    virDomainPtr dom = virDomainLookupByUUIDString (self->conn, uuid);
    *gone = !dom && virGetLastErrorCode () == VIR_ERR_NO_DOMAIN;
    if (!dom && !*gone) {
        char what [128];
        snprintf (what, sizeof what, "cannot look up domain %s", uuid);
        s_error (err, err_size, what);
    }
    return dom;
}

static int
s_start (void *impl, const char *uuid, const char *name, const char *xml, char *err,
         size_t err_size)
{
    libvirt_hv_t *self = impl;
    bool gone;
    virDomainPtr dom = s_domain (self, uuid, &gone, err, err_size);
    if (!dom && !gone)
        return -1;
    if (dom) {
        bool active = virDomainIsActive (dom) == 1;
        virDomainFree (dom);
        if (active)
            return 0;
    }
    dom = virDomainCreateXML (self->conn, xml, 0);
    if (!dom) {
        char what [WIRE_NAME_SIZE + 64];
        snprintf (what, sizeof what, "cannot start domain '%s'", name);
        s_error (err, err_size, what);
        return -1;
    }
    virDomainFree (dom);
    return 1;
}

static int
s_stop (void *impl, const char *uuid, uint32_t graceful_ms, char *err, size_t err_size)
{
    libvirt_hv_t *self = impl;
    bool gone;
    virDomainPtr dom = s_domain (self, uuid, &gone, err, err_size);
    if (!dom)
        return gone? 0: -1;
    int rc = virDomainIsActive (dom) == 1? 1: 0;
    if (rc && graceful_ms && virDomainShutdown (dom) == 0)
        for (uint32_t waited = 0; waited < graceful_ms && virDomainIsActive (dom) == 1;
             waited += 100)
            usleep (100 * 1000);
    if (rc && virDomainIsActive (dom) == 1 && virDomainDestroy (dom) < 0
    &&  virGetLastErrorCode () != VIR_ERR_NO_DOMAIN && virDomainIsActive (dom) == 1) {
        s_error (err, err_size, "cannot stop the domain");
        rc = -1;
    }
    virDomainFree (dom);
    return rc;
}

static int
s_migrate (void *impl, const char *uuid, const char *target_uri, char *err, size_t err_size)
{
    libvirt_hv_t *self = impl;
    bool gone;
    virDomainPtr dom = s_domain (self, uuid, &gone, err, err_size);
    if (!dom) {
        if (gone)
            snprintf (err, err_size, "the domain does not exist on this host");
        return -1;
    }
    //  Peer to peer: this host's libvirtd drives the migration; transient stays transient.
    int rc = virDomainMigrateToURI3 (dom, target_uri, NULL, 0,
                                     VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER);
    if (rc < 0) {
        char what [WIRE_TEXT_SIZE + 32];
        snprintf (what, sizeof what, "migration to '%s' failed", target_uri);
        s_error (err, err_size, what);
    }
    virDomainFree (dom);
    return rc < 0? -1: 0;
}

static int
s_abort_job (void *impl, const char *uuid, char *err, size_t err_size)
{
    libvirt_hv_t *self = impl;
    bool gone;
    virDomainPtr dom = s_domain (self, uuid, &gone, err, err_size);
    if (!dom)
        return gone? 0: -1;
    int rc = virDomainAbortJob (dom) == 0? 1: -1;
    if (rc < 0 && virGetLastErrorCode () == VIR_ERR_OPERATION_INVALID)
        rc = 0;                     // no job running
    else
    if (rc < 0)
        s_error (err, err_size, "cannot abort the domain's job");
    virDomainFree (dom);
    return rc;
}

static int
s_progress (void *impl, const char *uuid, hv_progress_t *out, char *err, size_t err_size)
{
    libvirt_hv_t *self = impl;
    bool gone;
    virDomainPtr dom = s_domain (self, uuid, &gone, err, err_size);
    if (!dom)
        return gone? 0: -1;
    virDomainJobInfo info;
    int rc = virDomainGetJobInfo (dom, &info);
    if (rc < 0)
        s_error (err, err_size, "cannot read the domain's job");
    else
    if (info.type == VIR_DOMAIN_JOB_NONE)
        rc = 0;
    else {
        *out = (hv_progress_t) { info.dataTotal, info.dataProcessed, info.dataRemaining,
                                 info.timeElapsed };
        rc = 1;
    }
    virDomainFree (dom);
    return rc;
}

//  --------------------------------------------------------------------------
//  Life cycle

static int
s_notify_fd (void *impl)
{
    return ((libvirt_hv_t *) impl)->pipe_read;
}

static void
s_destroy (void *impl)
{
    libvirt_hv_t *self = impl;
    s_disconnect (self);
    s_loop_release (self);
    close (self->pipe_read);
    close (self->pipe_write);
    pthread_mutex_destroy (&self->conn_lock);
    free (self->uri);
    free (self);
}

//  A new, unconnected instance (events: the main one, with callbacks).
static libvirt_hv_t *
s_new (const char *uri, bool events)
{
    pthread_once (&s_once, s_process_init);
    libvirt_hv_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    int fds [2];
    if (pipe2 (fds, O_CLOEXEC)) {
        free (self);
        return NULL;
    }
    //  Both ends non-blocking: the agent polls, and a full pipe must never stall libvirt's
    //  event loop (a dropped event is repaired by the next full report).
    fcntl (fds [0], F_SETFL, O_NONBLOCK);
    fcntl (fds [1], F_SETFL, O_NONBLOCK);
    self->pipe_read = fds [0];
    self->pipe_write = fds [1];
    pthread_mutex_init (&self->conn_lock, NULL);
    self->lifecycle_id = -1;
    self->events = events;
    self->uri = strdup (uri);
    if (!self->uri) {
        s_destroy (self);
        return NULL;
    }
    return self;
}

//  True for URIs whose every connection is a hypervisor of its own: the test driver with a
//  node file (test:///default is one per process, shared by its connections).
static bool
s_private_world (const char *uri)
{
    return strncmp (uri, "test:///", 8) == 0 && strcmp (uri, "test:///default") != 0;
}

static void *
s_share (void *impl)
{
    libvirt_hv_t *parent = impl;
    libvirt_hv_t *self = s_new (parent->uri, false);
    if (self && s_private_world (parent->uri))
        self->parent = parent;              // outlives its shared instances (executor)
    return self;
}

static const hv_ops_t s_libvirt_ops = {
    .name = "libvirt", .connect = s_connect, .disconnect = s_disconnect,
    .capacity = s_capacity, .list = s_list, .lookup = s_lookup,
    .notify_fd = s_notify_fd, .start = s_start, .stop = s_stop, .migrate = s_migrate,
    .abort_job = s_abort_job, .progress = s_progress, .share = s_share, .destroy = s_destroy,
};

hv_t *
hv_libvirt_new (const char *uri)
{
    libvirt_hv_t *self = s_new (uri, true);
    return self? hv_new (&s_libvirt_ops, self): NULL;
}
