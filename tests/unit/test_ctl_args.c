/*  test_ctl_args.c - the scheduler's reading of clusterctl request arguments.

    Each case hands ctl_request_args a request (verb and argument JSON text, as wire.c
    delivers it) and checks the object it returns or, for a refusal, the whole message: it
    must name the field and say what was expected. The schemas are the real ones of ctl.c's
    verb table.
*/
#include "check.h"
#include "ctl.h"
#include "ctl_args.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

//  Reads args_json as request verb; returns the object (caller json_decref's it) or NULL
//  with the message in err.
static json_t *
s_read (const char *verb, const char *args_json, char *err, size_t err_size)
{
    wire_ctl_request_t request;
    memset (&request, 0, sizeof request);
    snprintf (request.verb, sizeof request.verb, "%s", verb);
    request.args_json = (char *) args_json;
    err [0] = 0;
    return ctl_request_args (&request, err, err_size);
}

//  1 (a failed check) unless reading args_json as verb is refused with exactly expected.
static int
s_refused (const char *verb, const char *args_json, const char *expected)
{
    int failures = 0;
    char err [1024];
    json_t *args = s_read (verb, args_json, err, sizeof err);
    CHECK (args == NULL);
    CHECK (strcmp (err, expected) == 0);
    if (strcmp (err, expected))
        fprintf (stderr, "  %s %.80s\n    got:      %s\n    expected: %s\n", verb, args_json,
                 err, expected);
    json_decref (args);
    return failures;
}

//  Typed fields arrive as they were sent; absent ones take the caller's default.
static int
s_case_well_formed (void)
{
    int failures = 0;
    char err [1024];
    json_t *args = s_read ("vm.create", "{\"name\":\"web-1\",\"xml\":\"<domain/>\","
                           "\"priority\":5,\"ha\":true,\"migratable\":false}", err, sizeof err);
    CHECK (args != NULL);
    CHECK (strcmp (ctl_args_string (args, "name"), "web-1") == 0);
    CHECK (ctl_args_integer (args, "priority", 0) == 5);
    CHECK (ctl_args_integer (args, "cpu_reserve", 7) == 7);
    CHECK (ctl_args_boolean (args, "ha", false) && !ctl_args_boolean (args, "migratable", true));
    CHECK (ctl_args_string (args, "nested") == NULL);
    json_decref (args);

    args = s_read ("rule.add", "{\"name\":\"apart\",\"kind\":\"anti-affinity\","
                   "\"vms\":[\"a\",\"b\"],\"hosts\":[]}", err, sizeof err);
    CHECK (args && ctl_args_count (args, "vms") == 2 && ctl_args_count (args, "hosts") == 0);
    CHECK (args && strcmp (ctl_args_item (args, "vms", 1), "b") == 0);
    json_decref (args);

    //  No text and empty text: no arguments.
    args = s_read ("vm.list", NULL, err, sizeof err);
    CHECK (json_is_object (args) && json_object_size (args) == 0);
    json_decref (args);
    args = s_read ("status", "", err, sizeof err);
    CHECK (json_is_object (args) && json_object_size (args) == 0);
    json_decref (args);
    args = s_read ("audit", " { } ", err, sizeof err);
    CHECK (json_is_object (args));
    json_decref (args);
    return failures;
}

//  A field of the wrong JSON type: named, with the type expected and the one given.
static int
s_case_bad_type (void)
{
    int failures = 0;
    failures += s_refused ("vm.create",
                           "{\"name\":\"web\",\"xml\":\"<domain/>\",\"priority\":\"5\"}",
                           "bad request: field 'priority': expected an integer, got string");
    failures += s_refused ("vm.create", "{\"name\":\"web\",\"xml\":\"<domain/>\",\"ha\":1}",
                           "bad request: field 'ha': expected a boolean, got integer");
    failures += s_refused ("vm.migrate", "{\"name\":\"web\",\"timeout_ms\":1.5}",
                           "bad request: field 'timeout_ms': expected an integer, got number");
    failures += s_refused ("host.show", "{\"name\":null}",
                           "bad request: field 'name': expected a string, got null");
    failures += s_refused ("rule.add", "{\"name\":\"r\",\"kind\":\"affinity\",\"vms\":\"a,b\"}",
                           "bad request: field 'vms': expected an array of strings, got string");
    failures += s_refused ("rule.add", "{\"name\":\"r\",\"kind\":\"affinity\",\"vms\":[\"a\",2]}",
                           "bad request: field 'vms[1]': expected a string, got integer");
    failures += s_refused ("host.maintenance", "{\"name\":\"h1\",\"maintenance\":\"enter\"}",
                           "bad request: field 'maintenance': expected a boolean, got string");
    return failures;
}

//  Integers out of the field's range.
static int
s_case_out_of_range (void)
{
    int failures = 0;
    failures += s_refused ("vm.create", "{\"name\":\"w\",\"xml\":\"x\",\"priority\":2000000}",
                           "bad request: field 'priority': expected an integer from 0 to "
                           "1000000, got 2000000");
    failures += s_refused ("audit", "{\"limit\":0}",
                           "bad request: field 'limit': expected an integer from 1 to 100000, "
                           "got 0");
    failures += s_refused ("audit", "{\"since_ms\":-1}",
                           "bad request: field 'since_ms': expected an integer from 0 to "
                           "9223372036854775807, got -1");
    return failures;
}

//  A field the verb does not know: named with the verb and what it takes.
static int
s_case_unknown_field (void)
{
    int failures = 0;
    failures += s_refused ("vm.list", "{\"hots\":\"h1\"}",
                           "bad request: unknown field 'hots' for verb 'vm list' (it takes no "
                           "arguments)");
    failures += s_refused ("vm.migrate", "{\"name\":\"web\",\"hots\":\"h2\"}",
                           "bad request: unknown field 'hots' for verb 'vm migrate' (expected "
                           "one of: name, host, timeout_ms)");
    failures += s_refused ("vm.frob", "{}", "unknown request 'vm.frob'");
    return failures;
}

//  A key given twice is refused by jansson (JSON_REJECT_DUPLICATES), and named.
static int
s_case_duplicate_key (void)
{
    int failures = 0;
    failures += s_refused ("host.show", "{\"name\":\"h1\",\"name\":\"h2\"}",
                           "bad request: field 'name' given twice: expected each field once");
    failures += s_refused ("vm.create", "{\"name\":\"w\",\"xml\":\"x\",\"ha\":true,\"ha\":false}",
                           "bad request: field 'ha' given twice: expected each field once");
    //  Also when the key is spelled with escapes: jansson decodes it.
    failures += s_refused ("host.show", "{\"name\":\"h1\",\"n\\u0061me\":\"h2\"}",
                           "bad request: field 'name' given twice: expected each field once");
    return failures;
}

//  Oversized text is refused before parsing; an oversized string field by its bound.
static int
s_case_oversized (void)
{
    int failures = 0;
    size_t size = CTL_ARGS_MAX + 1;
    char *text = malloc (size + 1);
    memset (text, ' ', size);
    memcpy (text, "{}", 2);
    text [size] = 0;
    char expected [256];
    snprintf (expected, sizeof expected, "bad request: arguments too large (%zu bytes of JSON, "
              "at most %d)", size, CTL_ARGS_MAX);
    failures += s_refused ("vm.list", text, expected);

    //  Within the text bound, but an XML over WIRE_MAX_ARG.
    size_t xml = WIRE_MAX_ARG + 1;
    memset (text, 'x', xml);
    json_t *args = json_pack ("{s:s, s:s%}", "name", "big", "xml", text, xml);
    char *dumped = json_dumps (args, JSON_COMPACT);
    snprintf (expected, sizeof expected, "bad request: field 'xml': expected a string of at "
              "most %d bytes, got %zu bytes", WIRE_MAX_ARG, xml);
    failures += s_refused ("vm.create", dumped, expected);
    free (dumped);
    json_decref (args);
    free (text);
    return failures;
}

//  Not an object, not JSON, a required field missing (with the verb's usage).
static int
s_case_malformed (void)
{
    int failures = 0;
    failures += s_refused ("host.show", "[\"h1\"]",
                           "bad request: arguments: expected a JSON object, got array");
    failures += s_refused ("host.show", "\"h1\"",
                           "bad request: arguments are not valid JSON: '[' or '{' expected "
                           "near '\"h1\"' (at byte 4)");
    failures += s_refused ("host.show", "{\"name\":",
                           "bad request: arguments are not valid JSON: unexpected token near "
                           "end of file (at byte 8)");
    failures += s_refused ("host.show", "{\"name\":\"h\\u0000\"}",
                           "bad request: arguments are not valid JSON: \\u0000 is not allowed "
                           "without JSON_ALLOW_NUL near '\"h\\u0000\"' (at byte 17)");
    failures += s_refused ("vm.create", "{\"name\":\"web\"}",
                           "bad request: field 'xml' is missing: expected a string (usage: "
                           "clusterctl vm create NAME --xml FILE [OPTIONS])");
    failures += s_refused ("host.maintenance", "{\"name\":\"h1\"}",
                           "bad request: field 'maintenance' is missing: expected a boolean "
                           "(usage: clusterctl host maintenance enter|exit NAME)");
    return failures;
}

//  The audit log's copy: long strings, also in arrays, become "<N bytes>".
static int
s_case_summary (void)
{
    int failures = 0;
    char xml [301];
    memset (xml, 'x', 300);
    xml [300] = 0;
    json_t *args = json_pack ("{s:s, s:s, s:b, s:[s]}", "name", "web", "xml", xml, "ha", true,
                              "vms", xml);
    json_t *summary = ctl_args_summary (args);
    json_t *expected = json_pack ("{s:s, s:s, s:b, s:[s]}", "name", "web", "xml",
                                  "<300 bytes>", "ha", true, "vms", "<300 bytes>");
    CHECK (json_equal (summary, expected));
    json_decref (summary);
    json_decref (expected);
    json_decref (args);
    summary = ctl_args_summary (NULL);
    CHECK (json_is_object (summary) && json_object_size (summary) == 0);
    json_decref (summary);
    return failures;
}

static const check_case_t s_cases [] = {
    { "well_formed", s_case_well_formed },
    { "bad_type", s_case_bad_type },
    { "out_of_range", s_case_out_of_range },
    { "unknown_field", s_case_unknown_field },
    { "duplicate_key", s_case_duplicate_key },
    { "oversized", s_case_oversized },
    { "malformed", s_case_malformed },
    { "summary", s_case_summary },
};

int
main (int argc, char **argv)
{
    return CHECK_RUN_ALL ("ctl_args", s_cases, argc, argv)? 1: 0;
}
