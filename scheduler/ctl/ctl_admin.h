/*  ctl_admin.h - the clusterctl verbs of the allow list and the audit log (admin role).

    host add / remove allow or revoke an agent's key (the host's identity is its key); user
    add / list / delete manage operators' keys and roles; audit reads the log of requests.
    Revocation takes effect at the revoked key's next message (the scheduler checks every
    message against the allow list).
*/
#ifndef VMSCHED_CTL_ADMIN_H
#define VMSCHED_CTL_ADMIN_H

#include "ctl.h"

ctl_handler_fn ctl_host_add;        // host.add {name, key: Z85}
ctl_handler_fn ctl_host_remove;     // host.remove {name}
ctl_handler_fn ctl_user_add;        // user.add {name, key: Z85, role}
ctl_handler_fn ctl_user_list;       // user.list {}
ctl_handler_fn ctl_user_delete;     // user.delete {name}
ctl_handler_fn ctl_audit;           // audit {since_ms?, limit?}

#endif
