/*  views.h - clusterctl's human-readable renderings of the scheduler's JSON documents.

    One function per document kind (docs/clusterctl-json.md); each prints to out and never
    fails: missing fields show as "-", so a newer scheduler with more fields still renders.
*/
#ifndef VMSCHED_VIEWS_H
#define VMSCHED_VIEWS_H

#include <jansson.h>
#include <stdio.h>

typedef void (view_fn) (FILE *out, const json_t *document);

view_fn view_status;        // status
view_fn view_host_list;     // host list
view_fn view_host_show;     // host show NAME
view_fn view_vm_list;       // vm list
view_fn view_vm_show;       // vm show NAME
view_fn view_vm_brief;      // one VM after create / start / stop / delete / migrate
view_fn view_vm_why;        // vm why NAME
view_fn view_rule;          // rule add
view_fn view_rule_list;     // rule list
view_fn view_maintenance;   // host maintenance enter|exit
view_fn view_done;          // answers with nothing to show but success
view_fn view_principal;     // host add, user add
view_fn view_user_list;     // user list
view_fn view_audit;         // audit

#endif
