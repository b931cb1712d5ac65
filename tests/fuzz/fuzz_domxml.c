/*  fuzz_domxml.c - the domain XML checks of `vm create` (operator input), and the HA
    marker written into what passed them. */
#include "domxml.h"
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
    char *text = malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text [size] = 0;
    char err [1024];
    domxml_info_t info;
    if (domxml_parse (text, &info, err, sizeof err) == 0) {
        char *prepared = domxml_prepare (text, "fuzz-vm", "12345678-1234-1234-1234-123456789abc",
                                         err, sizeof err);
        //  The HA marker, on and off again: marking what was marked changes nothing.
        char *marked = NULL, *again = NULL, *cleared = NULL;
        if (prepared && domxml_mark_ha (prepared, true, &marked, err, sizeof err) >= 0) {
            const char *ha = marked? marked: prepared;
            if (domxml_mark_ha (ha, true, &again, err, sizeof err) != 0 || again)
                abort ();
            (void) domxml_mark_ha (ha, false, &cleared, err, sizeof err);
        }
        free (cleared);
        free (again);
        free (marked);
        free (prepared);
    }
    free (text);
    return 0;
}
