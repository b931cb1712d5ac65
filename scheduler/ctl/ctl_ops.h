/*  ctl_ops.h - the clusterctl verbs that change the cluster: managed VMs, migrations,
    rules, maintenance; and `vm why`.

    Handlers of ctl.c's verb table (ctl_handler_fn). They validate everything first and
    change nothing when they refuse; what they change goes into the context's mutations
    (committed before the reply) and outbox (commands sent after the commit). Arguments
    arrive as one JSON object checked against the verb's schema (ctl.c's table, ctl_args.h).
*/
#ifndef VMSCHED_CTL_OPS_H
#define VMSCHED_CTL_OPS_H

#include "ctl.h"

ctl_handler_fn ctl_vm_create;           // vm.create {name, xml, ha, priority, ...}
ctl_handler_fn ctl_vm_start;            // vm.start {name}
ctl_handler_fn ctl_vm_stop;             // vm.stop {name}
ctl_handler_fn ctl_vm_delete;           // vm.delete {name}
ctl_handler_fn ctl_vm_migrate;          // vm.migrate {name, host?, timeout_ms?}
ctl_handler_fn ctl_vm_abort;            // vm.abort {name}
ctl_handler_fn ctl_vm_why;              // vm.why {name}
ctl_handler_fn ctl_rule_add;            // rule.add {name, kind, vms, hosts, weight, soft}
ctl_handler_fn ctl_rule_list;           // rule.list {}
ctl_handler_fn ctl_rule_delete;         // rule.delete {name}
ctl_handler_fn ctl_host_maintenance;    // host.maintenance {name, maintenance}


#endif
