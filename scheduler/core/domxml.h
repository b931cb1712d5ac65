/*  domxml.h - reading and preparing libvirt domain XML for cluster-managed VMs (libxml2).

    `vm create` hands the operator's XML here before anything is stored: it must be
    well-formed, be a <domain> with a type, and give <memory> and <vcpu>; its <name> must be
    the VM's name (or absent) and its <uuid> a valid uuid (or absent). The scheduler then
    stores a prepared copy with <name> and <uuid> set, so every host starts the same domain,
    and marks it HA or not in its <metadata> (domxml_mark_ha; managed_add_spec applies it to
    every spec), because an agent's fencer kills exactly the domains so marked.
*/
#ifndef VMSCHED_DOMXML_H
#define VMSCHED_DOMXML_H

#include "wire.h"
#include "xmlns.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  What the scheduler needs to know of a domain definition.
typedef struct {
    char name [WIRE_NAME_SIZE];         // <name>, "" when absent
    char uuid [WIRE_ID_SIZE];           // <uuid>, "" when absent
    char type [16];                     // domain type attribute ("kvm", "qemu")
    uint32_t vcpus;                     // <vcpu>
    uint64_t memory_mib;                // <memory> in MiB (rounded up)
    bool needs_nested;                  // a required/forced vmx or svm CPU feature
    bool has_host_devices;              // <hostdev>: cannot live-migrate
} domxml_info_t;

//  Parse and check xml. 0 with *info filled, or -1 with what is wrong (and where) in err.
int domxml_parse (const char *xml, domxml_info_t *info, char *err, size_t err_size);

//  A copy of xml with <name> and <uuid> set (added when absent). Caller frees; NULL with
//  the reason in err.
char *domxml_prepare (const char *xml, const char *name, const char *uuid, char *err,
                      size_t err_size);

//  The HA marker (xmlns.h) as the VM's ha flag says. With ha, xml must hold exactly one
//  element of the VMSCHED_XMLNS_VM namespace in any <metadata>: <vm xmlns=... ha="yes"/>, a
//  child of the domain's first <metadata> (added, with <metadata> when there is none, and
//  replacing any other element of that namespace); without ha, none at all (any is
//  removed). Other metadata and the rest of the document stay as they are. Returns 1 with
//  *out a new document (caller frees) when xml had to change, 0 with *out NULL when it was
//  right already, -1 with the reason in err (not well-formed, not a <domain>, out of memory).
int domxml_mark_ha (const char *xml, bool ha, char **out, char *err, size_t err_size);

#endif
