/*  test_wire_commands.c - the command messages of the envelope codec.

    Round trips (wire_encode, then wire_decode) of WIRE_COMMAND, WIRE_COMMAND_RESULT and
    WIRE_REPORT_REQUEST with every field set, what the decoder repairs (control characters
    and over-long text in a result's message), what it refuses (hand-made envelopes built with
    the generated protobuf-c types, which only tests and common/wire.c may touch), and
    wire_uuid_valid.

    Prints one `PASS unit/wire_commands/CASE` or `FAIL unit/wire_commands/CASE: ...` line
    per case; the failed checks themselves are on stderr just above.
*/
#include "check.h"
#include "wire.h"
#include "vmsched.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define S_UUID      "0f8fad5b-d9cb-469f-a165-70867728950e"
#define S_HOST_ID   "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
#define S_XML_SIZE  (100 * 1024)

//  Packs a hand-made envelope and decodes it into *msg (the caller resets it). Returns what
//  wire_decode returns.
static int
s_decode_envelope (Vmsched__Envelope *envelope, wire_msg_t *msg, char *err, size_t err_size)
{
    size_t size = vmsched__envelope__get_packed_size (envelope);
    uint8_t *data = malloc (size + 1);
    if (!data) {
        memset (msg, 0, sizeof *msg);
        snprintf (err, err_size, "test out of memory");
        return -1;
    }
    vmsched__envelope__pack (envelope, data);
    int rc = wire_decode (data, size, msg, err, err_size);
    free (data);
    return rc;
}

//  An envelope around a command or a result (set on return by the caller).
static Vmsched__Envelope
s_envelope (void)
{
    Vmsched__Envelope envelope = VMSCHED__ENVELOPE__INIT;
    envelope.has_version = envelope.has_seq = true;
    envelope.version = WIRE_PROTOCOL_VERSION;
    envelope.seq = 1;
    return envelope;
}

//  A valid START command as the generated type (all pointers borrowed from literals).
static Vmsched__Command
s_raw_command (void)
{
    Vmsched__Command command = VMSCHED__COMMAND__INIT;
    command.has_id = command.has_action = true;
    command.id = 42;
    command.action = VMSCHED__COMMAND_ACTION__COMMAND_ACTION_START;
    command.vm_uuid = S_UUID;
    command.vm_name = "web-1";
    command.domain_xml = "<domain/>";
    return command;
}

//  A valid result as the generated type.
static Vmsched__CommandResult
s_raw_result (void)
{
    Vmsched__CommandResult result = VMSCHED__COMMAND_RESULT__INIT;
    result.has_id = result.has_status = true;
    result.id = 42;
    result.vm_uuid = S_UUID;
    result.status = VMSCHED__COMMAND_STATUS__COMMAND_STATUS_DONE;
    result.message = "started";
    return result;
}

//  Decodes command in an envelope; 0 or -1, reason in err. The decoded message is freed.
static int
s_decode_command (Vmsched__Command *command, char *err, size_t err_size)
{
    Vmsched__Envelope envelope = s_envelope ();
    envelope.body_case = VMSCHED__ENVELOPE__BODY_COMMAND;
    envelope.command = command;
    wire_msg_t msg;
    int rc = s_decode_envelope (&envelope, &msg, err, err_size);
    wire_msg_reset (&msg);
    return rc;
}

static int
s_decode_result (Vmsched__CommandResult *result, wire_msg_t *msg, char *err, size_t err_size)
{
    Vmsched__Envelope envelope = s_envelope ();
    envelope.body_case = VMSCHED__ENVELOPE__BODY_COMMAND_RESULT;
    envelope.command_result = result;
    return s_decode_envelope (&envelope, msg, err, err_size);
}

//  --------------------------------------------------------------------------
//  Cases

//  Every field of a COMMAND survives, the 100 KB domain XML (newlines, tabs) included.
static int
s_case_command_round_trip (void)
{
    int failures = 0;
    char err [256] = "";
    uint8_t *data = NULL;
    size_t size = 0;
    wire_msg_t in, out;

    char *xml = malloc (S_XML_SIZE + 1);
    if (!xml)
        return 1;
    const char *line = "  <disk type='file'>\n\t<source file='/var/lib/x.qcow2'/></disk>\n";
    size_t used = 0;
    used += (size_t) snprintf (xml, S_XML_SIZE + 1, "<domain type='kvm'>\n");
    while (used + strlen (line) + strlen ("</domain>") <= S_XML_SIZE) {
        memcpy (xml + used, line, strlen (line));
        used += strlen (line);
    }
    while (used + strlen ("</domain>") < S_XML_SIZE)
        xml [used++] = ' ';
    memcpy (xml + used, "</domain>", strlen ("</domain>") + 1);
    CHECK (strlen (xml) == S_XML_SIZE);

    wire_msg_init (&in, WIRE_COMMAND);
    in.seq = 11;
    in.session = 12;
    in.generation = 13;
    strcpy (in.host_id, S_HOST_ID);
    wire_command_t *command = &in.body.command;
    command->id = UINT64_C (0xfedcba9876543210);
    command->leader_epoch = 5;
    command->host_generation = 3;
    command->vm_generation = UINT64_MAX;
    strcpy (command->vm_uuid, S_UUID);
    memset (command->vm_name, 'n', sizeof command->vm_name - 1);      // longest name
    command->action = COMMAND_START;
    command->domain_xml = xml;
    strcpy (command->target_uri, "qemu+tls://h2.example/system");
    strcpy (command->target_host, "h2.example");
    command->timeout_ms = UINT32_MAX;
    command->graceful_ms = 30000;
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (size > S_XML_SIZE);
    CHECK (data && wire_decode (data, size, &out, err, sizeof err) == 0);
    free (data);
    CHECK (out.kind == WIRE_COMMAND && out.version == WIRE_PROTOCOL_VERSION);
    CHECK (out.seq == 11 && out.session == 12 && out.generation == 13);
    CHECK (strcmp (out.host_id, S_HOST_ID) == 0);
    const wire_command_t *got = &out.body.command;
    CHECK (got->id == UINT64_C (0xfedcba9876543210));
    CHECK (got->leader_epoch == 5 && got->host_generation == 3);
    CHECK (got->vm_generation == UINT64_MAX);
    CHECK (strcmp (got->vm_uuid, S_UUID) == 0);
    CHECK (strcmp (got->vm_name, command->vm_name) == 0 && strlen (got->vm_name) == 127);
    CHECK (got->action == COMMAND_START);
    CHECK (got->domain_xml && got->domain_xml != xml && strcmp (got->domain_xml, xml) == 0);
    CHECK (strcmp (got->target_uri, "qemu+tls://h2.example/system") == 0);
    CHECK (strcmp (got->target_host, "h2.example") == 0);
    CHECK (got->timeout_ms == UINT32_MAX && got->graceful_ms == 30000);
    wire_msg_reset (&out);
    CHECK (out.kind == WIRE_NONE && out.body.command.domain_xml == NULL);

    //  Every action; only START carries (and keeps) a domain XML.
    for (int action = COMMAND_STOP; action < COMMAND_ACTION_COUNT; action++) {
        command->action = (command_action_t) action;
        command->id = (uint64_t) action;
        CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
        CHECK (data && wire_decode (data, size, &out, err, sizeof err) == 0);
        free (data);
        CHECK (out.body.command.action == (command_action_t) action);
        CHECK (out.body.command.id == (uint64_t) action);
        CHECK (out.body.command.domain_xml == NULL);
        CHECK (strcmp (out.body.command.target_uri, "qemu+tls://h2.example/system") == 0);
        wire_msg_reset (&out);
    }

    //  STOP with the optional fields empty.
    command->action = COMMAND_STOP;
    command->domain_xml = NULL;
    command->target_uri [0] = command->target_host [0] = 0;
    command->timeout_ms = command->graceful_ms = 0;
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (data && wire_decode (data, size, &out, err, sizeof err) == 0);
    free (data);
    CHECK (out.body.command.action == COMMAND_STOP && out.body.command.target_uri [0] == 0);
    CHECK (out.body.command.timeout_ms == 0 && out.body.command.graceful_ms == 0);
    wire_msg_reset (&out);
    free (xml);
    return failures;
}

//  Every field of a COMMAND_RESULT survives, for every status.
static int
s_case_result_round_trip (void)
{
    int failures = 0;
    char err [256] = "";
    uint8_t *data = NULL;
    size_t size = 0;
    wire_msg_t in, out;

    wire_msg_init (&in, WIRE_COMMAND_RESULT);
    in.seq = 21;
    in.generation = 3;
    strcpy (in.host_id, S_HOST_ID);
    wire_command_result_t *result = &in.body.result;
    result->id = 77;
    strcpy (result->vm_uuid, S_UUID);
    result->vm_generation = 9;
    strcpy (result->message, "migrating to 'h2'");
    result->data_total = UINT64_C (1) << 40;
    result->data_processed = 123456789;
    result->data_remaining = UINT64_MAX;
    result->elapsed_ms = UINT32_MAX;
    for (int status = RESULT_ACCEPTED; status < RESULT_STATUS_COUNT; status++) {
        result->status = (command_status_t) status;
        CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
        CHECK (data && wire_decode (data, size, &out, err, sizeof err) == 0);
        free (data);
        CHECK (out.kind == WIRE_COMMAND_RESULT && out.seq == 21 && out.generation == 3);
        CHECK (strcmp (out.host_id, S_HOST_ID) == 0);
        CHECK (memcmp (&out.body.result, result, sizeof *result) == 0);
        CHECK (out.body.result.status == (command_status_t) status);
        wire_msg_reset (&out);
    }

    //  The longest message that fits goes through unchanged.
    memset (result->message, 'm', sizeof result->message - 1);
    result->message [sizeof result->message - 1] = 0;
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (data && wire_decode (data, size, &out, err, sizeof err) == 0);
    free (data);
    CHECK (strcmp (out.body.result.message, result->message) == 0);
    wire_msg_reset (&out);
    return failures;
}

//  A result's message is repaired, never refused: control characters become spaces, an
//  over-long text is cut to what fits.
static int
s_case_result_message (void)
{
    int failures = 0;
    char err [256] = "";
    uint8_t *data = NULL;
    size_t size = 0;
    wire_msg_t in, out;

    wire_msg_init (&in, WIRE_COMMAND_RESULT);
    in.body.result.id = 5;
    strcpy (in.body.result.vm_uuid, S_UUID);
    in.body.result.status = RESULT_FAILED;
    strcpy (in.body.result.message, "cannot start:\nline two\tand\x7f\x01" "end\r");
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (data && wire_decode (data, size, &out, err, sizeof err) == 0);
    free (data);
    CHECK (strcmp (out.body.result.message, "cannot start: line two and  end ") == 0);
    CHECK (out.body.result.status == RESULT_FAILED && out.body.result.id == 5);
    wire_msg_reset (&out);

    //  Longer than the field (a peer's long libvirt error): cut, and repaired as well.
    size_t length = 3 * sizeof in.body.result.message;
    char *text = malloc (length + 1);
    if (!text)
        return failures + 1;
    for (size_t i = 0; i < length; i++)
        text [i] = (char) ('a' + i % 26);
    text [10] = '\n';
    text [length] = 0;
    Vmsched__CommandResult result = s_raw_result ();
    result.message = text;
    CHECK (s_decode_result (&result, &out, err, sizeof err) == 0);
    const char *message = out.body.result.message;
    CHECK (strlen (message) == sizeof out.body.result.message - 1);
    CHECK (message [10] == ' ');
    CHECK (strncmp (message, text, 10) == 0);
    CHECK (strncmp (message + 11, text + 11, sizeof out.body.result.message - 12) == 0);
    CHECK (out.body.result.status == RESULT_DONE && out.body.result.id == 42);
    wire_msg_reset (&out);
    free (text);

    //  No message at all is an empty one.
    result = s_raw_result ();
    result.message = NULL;
    CHECK (s_decode_result (&result, &out, err, sizeof err) == 0);
    CHECK (out.body.result.message [0] == 0);
    wire_msg_reset (&out);
    return failures;
}

//  REPORT_REQUEST carries its reason and nothing else.
static int
s_case_report_request (void)
{
    int failures = 0;
    char err [256] = "";
    uint8_t *data = NULL;
    size_t size = 0;
    wire_msg_t in, out;

    wire_msg_init (&in, WIRE_REPORT_REQUEST);
    in.seq = 31;
    in.session = 32;
    strcpy (in.body.report_request.reason, "resync after leader change");
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (data && wire_decode (data, size, &out, err, sizeof err) == 0);
    free (data);
    CHECK (out.kind == WIRE_REPORT_REQUEST && out.seq == 31 && out.session == 32);
    CHECK (strcmp (out.body.report_request.reason, "resync after leader change") == 0);
    CHECK (out.host_id [0] == 0 && out.generation == 0);
    wire_msg_reset (&out);

    in.body.report_request.reason [0] = 0;                          // the reason is optional
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == 0);
    CHECK (data && wire_decode (data, size, &out, err, sizeof err) == 0);
    free (data);
    CHECK (out.kind == WIRE_REPORT_REQUEST && out.body.report_request.reason [0] == 0);
    wire_msg_reset (&out);

    //  Unlike a result's message, its reason is checked, not repaired.
    Vmsched__Envelope envelope = s_envelope ();
    Vmsched__ReportRequest request = VMSCHED__REPORT_REQUEST__INIT;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_REPORT_REQUEST;
    envelope.report_request = &request;
    request.reason = "two\nlines";
    CHECK (s_decode_envelope (&envelope, &out, err, sizeof err) == -1);
    CHECK (strstr (err, "report_request.reason") && strstr (err, "control character"));
    CHECK (out.kind == WIRE_NONE);
    return failures;
}

//  What the decoder refuses in a COMMAND; wire_encode refuses the same (it never sends
//  what a peer would refuse).
static int
s_case_command_refusals (void)
{
    int failures = 0;
    char err [256] = "";
    Vmsched__Command command = s_raw_command ();
    CHECK (s_decode_command (&command, err, sizeof err) == 0);

    command.has_id = false;                                 // no id
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.id' is missing") != NULL);
    command.has_id = true;
    command.id = 0;                                         // id 0 is no id
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.id' is missing") != NULL);
    command = s_raw_command ();

    command.action = 99;                                    // unknown action
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.action' has unknown value 99") != NULL);
    command.action = (Vmsched__CommandAction) COMMAND_ACTION_COUNT;
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.action' has unknown value") != NULL);
    command.action = 0;                                     // no action
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.action' has unknown value 0") != NULL);
    command.has_action = false;
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.action'") != NULL);
    command = s_raw_command ();

    command.domain_xml = NULL;                              // START without a definition
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.domain_xml' is missing") != NULL);
    command.domain_xml = "";
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.domain_xml' is missing") != NULL);
    size_t length = WIRE_MAX_ARG + 1;                       // too long
    char *huge = malloc (length + 1);
    if (huge) {
        memset (huge, 'x', length);
        huge [length] = 0;
        command.domain_xml = huge;
        CHECK (s_decode_command (&command, err, sizeof err) == -1);
        CHECK (strstr (err, "'command.domain_xml' is too long") != NULL);
        huge [length - 1] = 0;                              // exactly WIRE_MAX_ARG fits
        CHECK (s_decode_command (&command, err, sizeof err) == 0);
        free (huge);
    }
    command = s_raw_command ();

    command.action = VMSCHED__COMMAND_ACTION__COMMAND_ACTION_MIGRATE;
    command.domain_xml = NULL;                              // MIGRATE without a target
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.target_uri' is missing") != NULL);
    command.target_uri = "";
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.target_uri' is missing") != NULL);
    command.target_uri = "qemu+tls://h2/system";
    CHECK (s_decode_command (&command, err, sizeof err) == 0);
    command = s_raw_command ();

    command.vm_uuid = NULL;                                 // no VM
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.vm_uuid' is missing") != NULL);
    command.vm_uuid = "0f8fad5b-d9cb-469f-a165-70867728950";
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.vm_uuid' is not a uuid") != NULL);
    command = s_raw_command ();
    command.vm_name = NULL;                                 // no name
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.vm_name' is missing") != NULL);
    command.vm_name = "web\t1";
    CHECK (s_decode_command (&command, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.vm_name' contains a control character") != NULL);

    //  The encoder refuses the same.
    wire_msg_t msg;
    uint8_t *data = NULL;
    size_t size = 0;
    wire_msg_init (&msg, WIRE_COMMAND);
    msg.body.command.id = 1;
    msg.body.command.action = COMMAND_START;
    strcpy (msg.body.command.vm_uuid, S_UUID);
    strcpy (msg.body.command.vm_name, "web-1");
    CHECK (wire_encode (&msg, &data, &size, err, sizeof err) == -1);
    CHECK (data == NULL && strstr (err, "'command.domain_xml' is missing") != NULL);
    msg.body.command.action = COMMAND_MIGRATE;
    CHECK (wire_encode (&msg, &data, &size, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.target_uri' is missing") != NULL);
    msg.body.command.action = COMMAND_STOP;
    msg.body.command.id = 0;
    CHECK (wire_encode (&msg, &data, &size, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.id' is missing") != NULL);
    msg.body.command.id = 1;
    msg.body.command.action = COMMAND_NONE;
    CHECK (wire_encode (&msg, &data, &size, err, sizeof err) == -1);
    CHECK (strstr (err, "'command.action' has unknown value 0") != NULL);
    msg.body.command.action = COMMAND_STOP;
    CHECK (wire_encode (&msg, &data, &size, err, sizeof err) == 0);
    free (data);
    return failures;
}

//  What the decoder refuses in a COMMAND_RESULT.
static int
s_case_result_refusals (void)
{
    int failures = 0;
    char err [256] = "";
    wire_msg_t msg;
    Vmsched__CommandResult result = s_raw_result ();
    CHECK (s_decode_result (&result, &msg, err, sizeof err) == 0);
    wire_msg_reset (&msg);

    result.status = 0;                                      // no status
    CHECK (s_decode_result (&result, &msg, err, sizeof err) == -1);
    CHECK (strstr (err, "'command_result.status' has unknown value 0") != NULL);
    result.status = (Vmsched__CommandStatus) RESULT_STATUS_COUNT;      // unknown
    CHECK (s_decode_result (&result, &msg, err, sizeof err) == -1);
    CHECK (strstr (err, "'command_result.status' has unknown value 6") != NULL);
    result.status = -1;
    CHECK (s_decode_result (&result, &msg, err, sizeof err) == -1);
    CHECK (strstr (err, "'command_result.status' has unknown value -1") != NULL);
    CHECK (msg.kind == WIRE_NONE);
    result = s_raw_result ();

    result.has_id = false;                                  // no id
    CHECK (s_decode_result (&result, &msg, err, sizeof err) == -1);
    CHECK (strstr (err, "'command_result.id' is missing") != NULL);
    result = s_raw_result ();
    result.vm_uuid = NULL;                                  // no VM
    CHECK (s_decode_result (&result, &msg, err, sizeof err) == -1);
    CHECK (strstr (err, "'command_result.vm_uuid' is missing") != NULL);
    result.vm_uuid = "{0f8fad5b-d9cb-469f-a165-70867728950e}";
    CHECK (s_decode_result (&result, &msg, err, sizeof err) == -1);
    CHECK (strstr (err, "'command_result.vm_uuid' is not a uuid") != NULL);

    wire_msg_t in;
    uint8_t *data = NULL;
    size_t size = 0;
    wire_msg_init (&in, WIRE_COMMAND_RESULT);
    in.body.result.id = 1;
    strcpy (in.body.result.vm_uuid, S_UUID);
    in.body.result.status = RESULT_NONE;
    CHECK (wire_encode (&in, &data, &size, err, sizeof err) == -1);
    CHECK (data == NULL && strstr (err, "'command_result.status'") != NULL);
    return failures;
}

static int
s_case_uuid_valid (void)
{
    int failures = 0;
    CHECK (wire_uuid_valid (S_UUID));
    CHECK (wire_uuid_valid ("00000000-0000-0000-0000-000000000000"));
    CHECK (wire_uuid_valid ("0F8FAD5B-D9CB-469F-A165-70867728950E"));      // upper case
    CHECK (wire_uuid_valid ("0f8FAD5b-d9cb-469f-A165-70867728950e"));      // mixed
    CHECK (!wire_uuid_valid (""));
    CHECK (!wire_uuid_valid ("0f8fad5b-d9cb-469f-a165-70867728950"));      // 35
    CHECK (!wire_uuid_valid ("0f8fad5b-d9cb-469f-a165-70867728950e0"));    // 37
    CHECK (!wire_uuid_valid ("0f8fad5bd9cb469fa16570867728950e"));         // no dashes
    CHECK (!wire_uuid_valid ("0f8fad5bd-9cb-469f-a165-70867728950e"));     // dash moved
    CHECK (!wire_uuid_valid ("0f8fad5b-d9cb-469f-a165-70867728950g"));     // not hex
    CHECK (!wire_uuid_valid ("0f8fad5b-d9cb-469f-a165 70867728950e"));     // space for dash
    CHECK (!wire_uuid_valid ("0f8fad5b-d9cb-469f-a1-5-70867728950e"));     // dash for hex
    CHECK (!wire_uuid_valid ("{f8fad5b-d9cb-469f-a165-70867728950}"));      // braces
    CHECK (!wire_uuid_valid (" f8fad5b-d9cb-469f-a165-70867728950e"));      // leading space
    CHECK (!wire_uuid_valid ("0f8fad5b-d9cb-469f-a165-70867728950\n"));
    CHECK (!wire_uuid_valid ("------------------------------------"));
    return failures;
}

//  --------------------------------------------------------------------------

static const check_case_t s_cases [] = {
    { "command_round_trip", s_case_command_round_trip },
    { "result_round_trip", s_case_result_round_trip },
    { "result_message", s_case_result_message },
    { "report_request", s_case_report_request },
    { "command_refusals", s_case_command_refusals },
    { "result_refusals", s_case_result_refusals },
    { "uuid_valid", s_case_uuid_valid },
};

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);              // verdicts between the stderr details

    int failed = CHECK_RUN_ALL ("wire_commands", s_cases, argc, argv);
    return failed? 1: 0;
}
