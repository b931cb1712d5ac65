/*  seeds.c - writes the starting corpus of every fuzz target (make fuzz-seeds).

    usage: fuzz_seeds DIR - one valid input per message kind for the envelope and body
    targets (encoded by wire_encode, so they are what peers really send), typical files for
    the config, cluster-v1 and domain XML targets, and typical request arguments (one verb
    and its JSON object each, as clusterctl sends them) for fuzz_ctl_args. libFuzzer mutates
    from there.
*/
#include "log.h"
#include "vmsched.pb-c.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int s_failures;

static void
s_write (const char *dir, const char *target, const char *name, const void *data, size_t size)
{
    char path [4096];
    snprintf (path, sizeof path, "%s/%s", dir, target);
    mkdir (path, 0755);
    snprintf (path, sizeof path, "%s/%s/seed-%s", dir, target, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size) {
        fprintf (stderr, "fuzz_seeds: cannot write '%s'\n", path);
        s_failures++;
    }
    if (file)
        fclose (file);
}

static void
s_text (const char *dir, const char *target, const char *name, const char *text)
{
    s_write (dir, target, name, text, strlen (text));
}

//  Writes msg as an envelope seed and its body as the body target's seed.
static void
s_message (const char *dir, wire_msg_t *msg)
{
    uint8_t *data;
    size_t size;
    char err [256];
    msg->seq = 7;
    msg->session = 42;
    if (wire_encode (msg, &data, &size, err, sizeof err)) {
        fprintf (stderr, "fuzz_seeds: cannot encode a %s: %s\n", wire_kind_name (msg->kind), err);
        s_failures++;
        return;
    }
    const char *kind = wire_kind_name (msg->kind);
    s_write (dir, "fuzz_envelope", kind, data, size);
    Vmsched__Envelope *envelope = vmsched__envelope__unpack (NULL, size, data);
    const ProtobufCMessage *body = NULL;
    switch (envelope? envelope->body_case: 0) {
        case VMSCHED__ENVELOPE__BODY_HELLO:          body = &envelope->hello->base; break;
        case VMSCHED__ENVELOPE__BODY_WELCOME:        body = &envelope->welcome->base; break;
        case VMSCHED__ENVELOPE__BODY_HEARTBEAT:      body = &envelope->heartbeat->base; break;
        case VMSCHED__ENVELOPE__BODY_REPORT:         body = &envelope->report->base; break;
        case VMSCHED__ENVELOPE__BODY_EVENT:          body = &envelope->event->base; break;
        case VMSCHED__ENVELOPE__BODY_REJECT:         body = &envelope->reject->base; break;
        case VMSCHED__ENVELOPE__BODY_COMMAND:        body = &envelope->command->base; break;
        case VMSCHED__ENVELOPE__BODY_COMMAND_RESULT: body = &envelope->command_result->base; break;
        case VMSCHED__ENVELOPE__BODY_REPORT_REQUEST: body = &envelope->report_request->base; break;
        case VMSCHED__ENVELOPE__BODY_CTL_REQUEST:    body = &envelope->ctl_request->base; break;
        case VMSCHED__ENVELOPE__BODY_CTL_REPLY:      body = &envelope->ctl_reply->base; break;
        default: break;
    }
    if (body) {
        size_t length = protobuf_c_message_get_packed_size (body);
        uint8_t *bytes = malloc (length + 1);
        protobuf_c_message_pack (body, bytes);
        char target [64];
        snprintf (target, sizeof target, "fuzz_%s", kind);
        for (char *c = target; *c; c++)
            if (*c == '-')
                *c = '_';
        s_write (dir, target, kind, bytes, length);
        free (bytes);
    }
    vmsched__envelope__free_unpacked (envelope, NULL);
    free (data);
    wire_msg_reset (msg);
}

static wire_domain_t
s_domain (const char *uuid, const char *name, domain_state_t state)
{
    wire_domain_t domain = { .state = state, .vcpus = 2, .memory_kib = 1048576,
                             .persistent = false, .has_cpu_time = true, .cpu_time_ns = 5e9 };
    snprintf (domain.uuid, sizeof domain.uuid, "%s", uuid);
    snprintf (domain.name, sizeof domain.name, "%s", name);
    return domain;
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    const char *dir = argv [1];
    const char *host = "3a1fbea3-86ad-40bc-a812-91c549a794f0";
    const char *vm = "aaaaaaaa-0000-0000-0000-000000000001";
    log_init ("fuzz_seeds", LOG_LEVEL_WARN);
    wire_msg_t msg;

    wire_msg_init (&msg, WIRE_HELLO);
    strcpy (msg.host_id, host);
    strcpy (msg.body.hello.host_id, host);
    strcpy (msg.body.hello.name, "h1");
    strcpy (msg.body.hello.boot_id, "6a404d32-9c4a-49f1-a2a4-be20edf4c4f0");
    strcpy (msg.body.hello.hypervisor_uri, "qemu:///system");
    strcpy (msg.body.hello.migration_uri, "qemu+tls://h1/system");
    msg.body.hello.capacity = (wire_capacity_t) { .cpus = 16, .memory_mib = 65536,
        .cpu_model = "Skylake-Client-IBRS", .cpu_flags = "vmx ssse3 avx2", .nested = true,
        .numa_count = 2, .numa = { { 0, 8, 32768 }, { 1, 8, 32768 } } };
    s_message (dir, &msg);

    wire_msg_init (&msg, WIRE_WELCOME);
    msg.body.welcome = (wire_welcome_t) { 3, 5, 7, 500 };
    s_message (dir, &msg);

    wire_msg_init (&msg, WIRE_HEARTBEAT);
    strcpy (msg.host_id, host);
    msg.generation = 3;
    msg.body.report.hypervisor_connected = true;
    s_message (dir, &msg);

    wire_domain_t domains [2] = { s_domain (vm, "web-1", DOMAIN_RUNNING),
                                  s_domain ("aaaaaaaa-0000-0000-0000-000000000002", "db-1",
                                            DOMAIN_SHUTOFF) };
    domains [0].has_vcpu_delay = domains [0].has_rss = true;
    domains [0].vcpu_delay_ns = 1234567;
    domains [0].rss_kib = 40000;
    wire_msg_init (&msg, WIRE_REPORT);
    strcpy (msg.host_id, host);
    msg.generation = 3;
    msg.body.report = (wire_report_t) { true, 2, malloc (sizeof domains), 0 };
    memcpy (msg.body.report.domains, domains, sizeof domains);
    s_message (dir, &msg);

    wire_msg_init (&msg, WIRE_EVENT);
    strcpy (msg.host_id, host);
    msg.body.event = (wire_event_t) { EVENT_STARTED, domains [0] };
    s_message (dir, &msg);

    wire_msg_init (&msg, WIRE_REJECT);
    strcpy (msg.body.reject.reason, "stale generation: register again");
    msg.body.reject.reregister = true;
    s_message (dir, &msg);

    wire_msg_init (&msg, WIRE_COMMAND);
    wire_command_t *command = &msg.body.command;
    *command = (wire_command_t) { .id = 12, .leader_epoch = 5, .host_generation = 3,
                                  .vm_generation = 2, .action = COMMAND_START,
                                  .timeout_ms = 120000 };
    strcpy (command->vm_uuid, vm);
    strcpy (command->vm_name, "web-1");
    command->domain_xml = strdup ("<domain type='qemu'><name>web-1</name><memory unit='MiB'>32"
                                  "</memory><vcpu>1</vcpu></domain>");
    s_message (dir, &msg);
    wire_msg_init (&msg, WIRE_COMMAND);
    msg.body.command = (wire_command_t) { .id = 13, .leader_epoch = 5, .host_generation = 3,
        .vm_generation = 3, .action = COMMAND_MIGRATE, .timeout_ms = 60000,
        .target_uri = "qemu+tcp://10.77.0.2/system", .target_host = "h2" };
    strcpy (msg.body.command.vm_uuid, vm);
    strcpy (msg.body.command.vm_name, "web-1");
    s_message (dir, &msg);

    wire_msg_init (&msg, WIRE_COMMAND_RESULT);
    msg.body.result = (wire_command_result_t) { .id = 13, .vm_generation = 3,
        .status = RESULT_PROGRESS, .message = "migrating to 'h2'", .data_total = 1 << 30,
        .data_processed = 1 << 29, .data_remaining = 1 << 29, .elapsed_ms = 700 };
    strcpy (msg.body.result.vm_uuid, vm);
    s_message (dir, &msg);

    wire_msg_init (&msg, WIRE_REPORT_REQUEST);
    strcpy (msg.body.report_request.reason, "scheduler epoch 5 has no report of this host yet");
    s_message (dir, &msg);

    wire_msg_init (&msg, WIRE_CTL_REQUEST);
    strcpy (msg.body.request.verb, "vm.migrate");
    wire_request_set_args (&msg.body.request, "{\"name\":\"web-1\",\"host\":\"h2\","
                                              "\"timeout_ms\":60000}");
    s_message (dir, &msg);

    wire_msg_init (&msg, WIRE_CTL_REPLY);
    msg.body.reply.json = strdup ("{\"hosts\":[{\"name\":\"h1\",\"state\":\"up\"}]}");
    s_message (dir, &msg);

    s_text (dir, "fuzz_ctl_args", "vm-create",
            "vm.create\n{\"xml\":\"<domain type='kvm'><name>web-9</name><memory unit='MiB'>"
            "512</memory><vcpu>2</vcpu></domain>\",\"priority\":5,\"ha\":true,"
            "\"migratable\":false,\"mem_reserve_mib\":512,\"name\":\"web-9\"}");
    s_text (dir, "fuzz_ctl_args", "rule-add",
            "rule.add\n{\"hosts\":[\"h1\",\"h2\"],\"weight\":3,\"soft\":true,"
            "\"name\":\"pin\",\"kind\":\"should\",\"vms\":[\"db-1\",\"db-2\"]}");
    s_text (dir, "fuzz_ctl_args", "maintenance",
            "host.maintenance\n{\"maintenance\":true,\"name\":\"h3\"}");
    s_text (dir, "fuzz_ctl_args", "user-add",
            "user.add\n{\"key\":\"O#g({-9Xur<tEF4G-egAIJq@VQX9FZHBOL@lL.rU\","
            "\"role\":\"operator\",\"name\":\"alice\"}");
    s_text (dir, "fuzz_ctl_args", "audit", "audit\n{\"since_ms\":1796119200000,\"limit\":5}");
    s_text (dir, "fuzz_ctl_args", "vm-list", "vm.list\n{}");
    s_text (dir, "fuzz_ctl_args", "duplicate", "vm.show\n{\"name\":\"a\",\"name\":\"b\"}");
    s_text (dir, "fuzz_ctl_args", "escapes",
            "vm.migrate\n{\"n\\u0061me\":\"w\\u00e9b\",\"host\":\"h\\/2\","
            "\"timeout_ms\":-1e3}");
    s_text (dir, "fuzz_config", "scheduler",
            "[scheduler]\nagent_endpoint = tcp://*:7100\nheartbeat_ms = 500\n"
            "suspect_after_ms = 1500\ndown_after_ms = 5000\nplacement = pack\n"
            "cpu_overcommit_pct = 400\nlog_level = debug\n");
    s_text (dir, "fuzz_config", "agent",
            "[agent]\nname = h1\nscheduler = tcp://10.0.0.1:7100\nworkers = 4\n"
            "[capacity]\ncpus = 8\nmemory_mib = 16384\n");
    s_text (dir, "fuzz_domxml", "tiny",
            "<domain type='qemu'><name>vm</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>");
    s_text (dir, "fuzz_domxml", "nested",
            "<domain type='kvm'><uuid>12345678-1234-1234-1234-123456789abc</uuid>"
            "<memory unit='GiB'>4</memory><vcpu placement='static'>4</vcpu>"
            "<cpu mode='host-model'><feature policy='require' name='vmx'/></cpu>"
            "<devices><hostdev mode='subsystem' type='pci'/></devices></domain>");
    s_text (dir, "fuzz_cluster_v1", "small",
            "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"n1\", \"cpus\": 48, "
            "\"mem_mib\": 262144, \"mem_reserved_mib\": 4096}, {\"name\": \"n2\", \"cpus\": 48, "
            "\"mem_mib\": 262144, \"mem_reserved_mib\": 4096, \"state\": \"maintenance\"}], "
            "\"vms\": [{\"name\": \"v1\", \"vcpus\": 2, \"mem_mib\": 4096, \"host\": \"n1\"}, "
            "{\"name\": \"v2\", \"vcpus\": 4, \"mem_mib\": 8192, \"host\": null, \"priority\": 5}],"
            " \"rules\": [{\"kind\": \"anti-affinity\", \"vms\": [\"v1\", \"v2\"], \"hard\": true},"
            " {\"kind\": \"vm-host\", \"vms\": [\"v2\"], \"hosts\": [\"n1\"], \"must\": false, "
            "\"hard\": false}]}");
    return s_failures? 1: 0;
}
