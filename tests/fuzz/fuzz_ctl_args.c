/*  fuzz_ctl_args.c - the scheduler's strict reader of clusterctl request arguments.

    Input: a request verb ("vm.create"), a newline, then the argument JSON text as wire.c
    would deliver it (any bytes: a NUL ends the text, as in a protobuf string). Whatever
    ctl_request_args accepts must hold only the schema's fields and summarise for the audit
    log; whatever it refuses must say why.
*/
#include "ctl.h"
#include "fuzz.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    log_init ("fuzz", LOG_LEVEL_NONE);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const uint8_t *newline = memchr (data, '\n', size);
    size_t verb_length = newline? (size_t) (newline - data): size;
    wire_ctl_request_t request;
    memset (&request, 0, sizeof request);
    if (verb_length >= sizeof request.verb)
        return 0;
    memcpy (request.verb, data, verb_length);
    size_t length = newline? size - verb_length - 1: 0;
    request.args_json = malloc (length + 1);
    if (!request.args_json)
        return 0;
    if (length)
        memcpy (request.args_json, newline + 1, length);
    request.args_json [length] = 0;
    char err [1024] = "";
    json_t *args = ctl_request_args (&request, err, sizeof err);
    if (!args && !err [0])
        abort ();                           // refused without a reason
    if (args) {
        if (!json_is_object (args))
            abort ();
        json_t *summary = ctl_args_summary (args);
        char *text = json_dumps (summary, JSON_COMPACT);
        if (!text)
            abort ();
        free (text);
        json_decref (summary);
        json_decref (args);
    }
    free (request.args_json);
    return 0;
}
