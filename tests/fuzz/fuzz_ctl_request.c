/*  fuzz_ctl_request.c - the ctl_request message validator (envelope field 20), then the
    scheduler's reading of its arguments (scheduler/ctl_args.c) with the verb's schema, as
    ctl_handle does. See fuzz_body.h.
*/
#include "ctl.h"
#include "fuzz_body.h"

//  Reads the request's arguments; what is accepted must summarise and print (audit log).
static void
s_read_args (const wire_msg_t *msg)
{
    char err [1024];
    json_t *args = ctl_request_args (&msg->body.request, err, sizeof err);
    if (!args)
        return;
    json_t *summary = ctl_args_summary (args);
    char *text = json_dumps (summary, JSON_COMPACT);
    if (!text)
        abort ();
    free (text);
    json_decref (summary);
    json_decref (args);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body_then (20, data, size, s_read_args);
}
