/*  domxml.h - reading and preparing libvirt domain XML for cluster-managed VMs (libxml2).

    `vm create` hands the operator's XML here before anything is stored: it must be
    well-formed, be a <domain> with a type, and give <memory> and <vcpu>; its <name> must be
    the VM's name (or absent) and its <uuid> a valid uuid (or absent). The scheduler then
    stores a prepared copy with <name> and <uuid> set, so every host starts the same domain.
*/
#ifndef VMSCHED_DOMXML_H
#define VMSCHED_DOMXML_H

#include "wire.h"

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

#endif
