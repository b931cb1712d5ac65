/*  test_wire.c - the envelope codec: round trips, and refusal of every kind of bad input.

    Crafts hostile envelopes with the generated protobuf-c types directly (only tests and
    common/wire.c may touch them): wrong version, unknown enum values and oneof cases, bad
    uuids, oversized and garbage bytes, repeated fields beyond their limits.
*/
#include "check.h"
#include "wire.h"
#include "vmsched.pb-c.h"

#include <stdlib.h>
#include <string.h>

static const char *s_uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";

static void
s_hello (wire_msg_t *msg)
{
    wire_msg_init (msg, WIRE_HELLO);
    msg->seq = 7;
    msg->session = 99;
    strcpy (msg->host_id, s_uuid);
    wire_hello_t *hello = &msg->body.hello;
    strcpy (hello->host_id, s_uuid);
    strcpy (hello->name, "h1");
    strcpy (hello->boot_id, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    strcpy (hello->hypervisor_uri, "test:///default");
    strcpy (hello->agent_version, "0.1.0");
    hello->capacity.cpus = 8;
    hello->capacity.memory_mib = 16384;
    strcpy (hello->capacity.cpu_model, "Skylake");
    strcpy (hello->capacity.cpu_flags, "vmx sse4_2");
    hello->capacity.nested = true;
    hello->capacity.numa_count = 2;
    hello->capacity.numa [0] = (wire_numa_t) { 0, 4, 8192 };
    hello->capacity.numa [1] = (wire_numa_t) { 1, 4, 8192 };
}

//  Packs a hand-made envelope and returns what wire_decode says of it.
static int
s_decode_envelope (Vmsched__Envelope *envelope, char *err, size_t err_size)
{
    size_t size = vmsched__envelope__get_packed_size (envelope);
    uint8_t *data = malloc (size + 1);
    vmsched__envelope__pack (envelope, data);
    wire_msg_t msg;
    int rc = wire_decode (data, size, &msg, err, err_size);
    wire_msg_reset (&msg);
    free (data);
    return rc;
}

static int
s_round_trips (void)
{
    int failures = 0;
    char err [256] = "";
    uint8_t *data;
    size_t size;
    wire_msg_t in, out;

    s_hello (&in);
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (wire_decode (data, size, &out, err, sizeof err) == 0);
    CHECK (out.kind == WIRE_HELLO && out.seq == 7 && out.session == 99);
    CHECK (memcmp (&in.body.hello, &out.body.hello, sizeof in.body.hello) == 0);
    free (data);
    wire_msg_reset (&out);

    wire_msg_init (&in, WIRE_REPORT);
    strcpy (in.host_id, s_uuid);
    in.generation = 3;
    in.body.report.hypervisor_connected = true;
    in.body.report.domain_count = 2;
    in.body.report.domains = calloc (2, sizeof (wire_domain_t));
    for (int i = 0; i < 2; i++) {
        wire_domain_t *domain = &in.body.report.domains [i];
        strcpy (domain->uuid, s_uuid);
        snprintf (domain->name, sizeof domain->name, "vm-%d", i);
        domain->state = DOMAIN_RUNNING;
        domain->vcpus = 2;
        domain->memory_kib = 524288;
        domain->has_cpu_time = i == 1;
        domain->cpu_time_ns = i == 1? 12345: 0;
        domain->has_vcpu_delay = domain->has_rss = domain->has_balloon = i == 1;
        domain->vcpu_delay_ns = i == 1? WIRE_MAX_COUNTER: 0;
        domain->rss_kib = i == 1? 40000: 0;
        domain->balloon_kib = i == 1? WIRE_MAX_MEMORY_KIB: 0;
    }
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (wire_decode (data, size, &out, err, sizeof err) == 0);
    CHECK (out.kind == WIRE_REPORT && out.generation == 3);
    CHECK (out.body.report.domain_count == 2);
    CHECK (memcmp (in.body.report.domains, out.body.report.domains,
                   2 * sizeof (wire_domain_t)) == 0);
    free (data);
    wire_msg_reset (&out);
    wire_msg_reset (&in);

    wire_msg_init (&in, WIRE_CTL_REQUEST);
    strcpy (in.body.request.verb, "host.show");
    CHECK (wire_request_set_args (&in.body.request, "{\"name\":\"h1\"}") == 0);
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (wire_decode (data, size, &out, err, sizeof err) == 0);
    CHECK (out.body.request.args_json && !out.body.request.legacy_args
           && strcmp (out.body.request.args_json, "{\"name\":\"h1\"}") == 0);
    free (data);
    wire_msg_reset (&out);
    wire_msg_reset (&in);

    wire_msg_init (&in, WIRE_CTL_REPLY);
    in.body.reply.json = strdup ("{\"hosts\": []}");
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (wire_decode (data, size, &out, err, sizeof err) == 0);
    CHECK (out.body.reply.json && strcmp (out.body.reply.json, "{\"hosts\": []}") == 0);
    free (data);
    wire_msg_reset (&out);
    wire_msg_reset (&in);

    //  We refuse to send what a peer would refuse.
    s_hello (&in);
    in.body.hello.capacity.cpus = 0;
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == -1);
    CHECK (strstr (err, "capacity.cpus") != NULL);
    return failures;
}

static int
s_refusals (void)
{
    int failures = 0;
    char err [256] = "";
    wire_msg_t msg;

    //  Garbage, empty and oversized input.
    uint8_t garbage [64];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage [i] = (uint8_t) (i * 37 + 11);
    CHECK (wire_decode (garbage, sizeof garbage, &msg, err, sizeof err) == -1);
    CHECK (wire_decode (garbage, 0, &msg, err, sizeof err) == -1);
    CHECK (strstr (err, "protocol version") != NULL);
    CHECK (wire_decode (garbage, WIRE_MAX_MESSAGE + 1, &msg, err, sizeof err) == -1);
    CHECK (strstr (err, "too large") != NULL);

    Vmsched__Envelope envelope = VMSCHED__ENVELOPE__INIT;
    Vmsched__Heartbeat heartbeat = VMSCHED__HEARTBEAT__INIT;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_HEARTBEAT;
    envelope.heartbeat = &heartbeat;
    envelope.has_version = true;
    envelope.version = 2;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "unsupported protocol version 2") != NULL);
    envelope.version = WIRE_PROTOCOL_VERSION;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == 0);
    envelope.host_id = "not-a-uuid";
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "not a uuid") != NULL);
    envelope.host_id = NULL;
    envelope.body_case = VMSCHED__ENVELOPE__BODY__NOT_SET;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "no known body") != NULL);

    //  Unknown enum values and missing nested messages.
    Vmsched__Event event = VMSCHED__EVENT__INIT;
    Vmsched__Domain domain = VMSCHED__DOMAIN__INIT;
    domain.uuid = (char *) s_uuid;
    domain.name = "vm";
    event.has_kind = true;
    event.kind = 42;
    event.domain = &domain;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_EVENT;
    envelope.event = &event;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "event.kind") != NULL);
    event.kind = VMSCHED__EVENT_KIND__EVENT_KIND_STARTED;
    domain.has_state = true;
    domain.state = 99;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "domain.state") != NULL);
    domain.state = VMSCHED__DOMAIN_STATE__DOMAIN_STATE_RUNNING;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == 0);
    domain.name = "bad\nname";
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "control character") != NULL);
    domain.name = "vm";
    event.domain = NULL;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);

    //  Absurd sizes and counts.
    Vmsched__Report report = VMSCHED__REPORT__INIT;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_REPORT;
    envelope.report = &report;
    report.n_domains = WIRE_MAX_DOMAINS + 1;
    report.domains = calloc (report.n_domains, sizeof (Vmsched__Domain *));
    for (size_t i = 0; i < report.n_domains; i++)
        report.domains [i] = &domain;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "report.domains count") != NULL);
    report.n_domains = 1;
    domain.has_vcpus = true;
    domain.vcpus = 100000;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "domain.vcpus") != NULL);
    domain.vcpus = 2;
    //  Usage: counters up to WIRE_MAX_COUNTER, memory up to WIRE_MAX_MEMORY_KIB.
    domain.has_cpu_time_ns = domain.has_vcpu_delay_ns = true;
    domain.has_rss_kib = domain.has_balloon_current_kib = true;
    domain.cpu_time_ns = domain.vcpu_delay_ns = WIRE_MAX_COUNTER;
    domain.rss_kib = domain.balloon_current_kib = WIRE_MAX_MEMORY_KIB;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == 0);
    const char *usage_fields [] = { "domain.cpu_time_ns", "domain.vcpu_delay_ns",
                                    "domain.rss_kib", "domain.balloon_current_kib" };
    uint64_t *usage_values [] = { &domain.cpu_time_ns, &domain.vcpu_delay_ns,
                                  &domain.rss_kib, &domain.balloon_current_kib };
    for (int i = 0; i < 4; i++) {
        uint64_t kept = *usage_values [i];
        *usage_values [i] = i < 2? (uint64_t) WIRE_MAX_COUNTER + 1: WIRE_MAX_MEMORY_KIB + 1;
        CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
        CHECK (strstr (err, usage_fields [i]) != NULL);
        *usage_values [i] = kept;
    }
    //  A domain of an old agent (no balloon field) decodes with the field absent.
    domain.has_balloon_current_kib = false;
    wire_msg_t old;
    size_t old_size = vmsched__envelope__get_packed_size (&envelope);
    uint8_t *old_data = malloc (old_size);
    vmsched__envelope__pack (&envelope, old_data);
    CHECK (wire_decode (old_data, old_size, &old, err, sizeof err) == 0);
    CHECK (old.body.report.domain_count == 1 && !old.body.report.domains [0].has_balloon
           && old.body.report.domains [0].has_rss);
    wire_msg_reset (&old);
    free (old_data);
    free (report.domains);

    //  A hello whose body names another host than its envelope.
    wire_msg_t hello;
    s_hello (&hello);
    uint8_t *data;
    size_t size;
    CHECK (wire_encode (&hello, &data, &size, err, sizeof err) == 0);
    free (data);
    strcpy (hello.host_id, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    CHECK (wire_encode (&hello, &data, &size, err, sizeof err) == -1);
    CHECK (strstr (err, "differs") != NULL);

    //  Every truncation of a valid message is either refused or decodes to a valid message.
    s_hello (&hello);
    CHECK (wire_encode (&hello, &data, &size, err, sizeof err) == 0);
    for (size_t cut = 0; cut < size; cut++) {
        if (wire_decode (data, cut, &msg, err, sizeof err) == 0)
            wire_msg_reset (&msg);
    }
    //  Bit flips never crash the decoder.
    for (size_t i = 0; i < size * 8; i++) {
        data [i / 8] ^= (uint8_t) (1 << (i % 8));
        if (wire_decode (data, size, &msg, err, sizeof err) == 0)
            wire_msg_reset (&msg);
        data [i / 8] ^= (uint8_t) (1 << (i % 8));
    }
    free (data);
    return failures;
}

//  A string field declared 16 MB long must hit the decode budget, not the heap.
static int
s_budget (void)
{
    int failures = 0;
    char err [256] = "";
    size_t big = 3 * 1024 * 1024;
    char *name = malloc (big + 1);
    memset (name, 'a', big);
    name [big] = 0;
    Vmsched__Envelope envelope = VMSCHED__ENVELOPE__INIT;
    Vmsched__CtlRequest request = VMSCHED__CTL_REQUEST__INIT;
    envelope.has_version = true;
    envelope.version = WIRE_PROTOCOL_VERSION;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_CTL_REQUEST;
    envelope.ctl_request = &request;
    request.verb = name;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "too long") != NULL);
    free (name);

    //  Ctl request arguments over WIRE_MAX_ARGS_JSON: refused by encode and by decode.
    size_t over = WIRE_MAX_ARGS_JSON + 1;
    char *args = malloc (over + 1);
    memset (args, ' ', over);
    args [over] = 0;
    request.verb = "vm.list";
    request.args_json = args;
    CHECK (s_decode_envelope (&envelope, err, sizeof err) == -1);
    CHECK (strstr (err, "field 'ctl_request.args_json' is too long") != NULL);
    wire_msg_t msg;
    uint8_t *data = NULL;
    size_t size;
    wire_msg_init (&msg, WIRE_CTL_REQUEST);
    strcpy (msg.body.request.verb, "vm.list");
    msg.body.request.args_json = args;
    CHECK (wire_encode (&msg, &data, &size, err, sizeof err) == -1 && !data);
    CHECK (strstr (err, "args_json") != NULL);
    free (args);
    return failures;
}

//  Encodes msg, decodes it into out (caller resets). 0 or -1 (err says why).
static int
s_through (const wire_msg_t *msg, wire_msg_t *out, char *err, size_t err_size)
{
    uint8_t *data;
    size_t size;
    if (wire_encode (msg, &data, &size, err, err_size))
        return -1;
    int rc = wire_decode (data, size, out, err, err_size);
    free (data);
    return rc;
}

//  The HA messages (DESIGN.md §5): renew, grant, lease config with witness peers, witness
//  report; and what they refuse.
static int
s_ha_messages (void)
{
    int failures = 0;
    char err [256] = "";
    wire_msg_t in, out;
    wire_msg_init (&in, WIRE_RENEW);
    strcpy (in.host_id, s_uuid);
    in.body.renew = (wire_renew_t) { 42, 7 };
    CHECK (s_through (&in, &out, err, sizeof err) == 0);
    CHECK (out.kind == WIRE_RENEW && out.body.renew.id == 42 && out.body.renew.config_version == 7);
    wire_msg_reset (&out);
    in.body.renew.id = 0;
    CHECK (s_through (&in, &out, err, sizeof err) == -1 && strstr (err, "renew.id"));

    wire_msg_init (&in, WIRE_GRANT);
    in.body.grant = (wire_grant_t) { .id = 42, .lease_ms = 2000 };
    CHECK (s_through (&in, &out, err, sizeof err) == 0);
    CHECK (out.body.grant.id == 42 && out.body.grant.lease_ms == 2000 && !out.body.grant.refused);
    wire_msg_reset (&out);
    in.body.grant = (wire_grant_t) { .id = 42, .refused = true, .reason = "blocked" };
    CHECK (s_through (&in, &out, err, sizeof err) == 0);
    CHECK (out.body.grant.refused && out.body.grant.lease_ms == 0
           && strcmp (out.body.grant.reason, "blocked") == 0);
    wire_msg_reset (&out);
    in.body.grant = (wire_grant_t) { .id = 42, .lease_ms = 0 };
    CHECK (s_through (&in, &out, err, sizeof err) == -1 && strstr (err, "grant.lease_ms"));

    wire_msg_init (&in, WIRE_LEASE_CONFIG);
    wire_lease_config_t *config = &in.body.lease_config;
    *config = (wire_lease_config_t) { .version = 5, .renew_ms = 500, .lease_ms = 2000,
                                      .dead_after_ms = 7000, .witness_count = 1,
                                      .watched_count = 1 };
    wire_witness_peer_t peer = { .generation = 3 };
    strcpy (peer.host_id, s_uuid);
    strcpy (peer.name, "h2");
    strcpy (peer.endpoint, "tcp://10.0.0.2:7110");
    strcpy (peer.public_key, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    config->witnesses [0] = config->watched [0] = peer;
    CHECK (s_through (&in, &out, err, sizeof err) == 0);
    CHECK (out.body.lease_config.version == 5 && out.body.lease_config.witness_count == 1
           && out.body.lease_config.watched [0].generation == 3
           && strcmp (out.body.lease_config.witnesses [0].public_key, peer.public_key) == 0);
    wire_msg_reset (&out);
    config->lease_ms = 400;                         // not above renew_ms
    CHECK (s_through (&in, &out, err, sizeof err) == -1 && strstr (err, "lease_ms"));
    config->lease_ms = 2000;
    config->dead_after_ms = 2000;                   // D must exceed L
    CHECK (s_through (&in, &out, err, sizeof err) == -1 && strstr (err, "dead_after_ms"));
    config->dead_after_ms = 7000;
    strcpy (config->witnesses [0].public_key, "not a key");
    CHECK (s_through (&in, &out, err, sizeof err) == -1 && strstr (err, "public_key"));

    wire_msg_init (&in, WIRE_WITNESS_REPORT);
    in.body.witness_report.count = 1;
    strcpy (in.body.witness_report.silent [0].host_id, s_uuid);
    in.body.witness_report.silent [0].generation = 4;
    in.body.witness_report.silent [0].silent_ms = 7100;
    in.body.witness_report.silent [0].blocked = true;
    CHECK (s_through (&in, &out, err, sizeof err) == 0);
    CHECK (out.body.witness_report.count == 1 && out.body.witness_report.silent [0].blocked
           && out.body.witness_report.silent [0].silent_ms == 7100);
    wire_msg_reset (&out);
    in.body.witness_report.silent [0].generation = 0;
    CHECK (s_through (&in, &out, err, sizeof err) == -1 && strstr (err, "generation"));

    //  HELLO's HA fields and COMMAND's ha flag travel.
    s_hello (&in);
    strcpy (in.body.hello.witness_endpoint, "tcp://10.0.0.1:7110");
    strcpy (in.body.hello.watchdog, "file /run/pet");
    CHECK (s_through (&in, &out, err, sizeof err) == 0);
    CHECK (strcmp (out.body.hello.witness_endpoint, "tcp://10.0.0.1:7110") == 0
           && strcmp (out.body.hello.watchdog, "file /run/pet") == 0);
    wire_msg_reset (&out);
    return failures;
}

int
main (void)
{
    int failures = s_round_trips () + s_refusals () + s_budget () + s_ha_messages ();
    return check_report ("wire", failures);
}
