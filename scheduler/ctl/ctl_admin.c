/*  ctl_admin.c - the allow list and the audit log verbs (see ctl_admin.h).

    Owns nothing between requests; changes go to the allow list at once and to the database
    as mutations in the same batch (a failed commit drops the reply; the operator retries).
*/
#include "ctl_admin.h"
#include "clock.h"
#include "keys.h"
#include "log.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static bool
s_valid_name (const char *name)
{
    size_t length = strlen (name);
    if (length == 0 || length >= PRINCIPAL_NAME_SIZE)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!isalnum ((unsigned char) name [i]) && !strchr (".-_", name [i]))
            return false;
    return true;
}

static json_t *
s_principal_json (const principal_record_t *principal)
{
    char when [40];
    clock_format_wall (principal->created_at, when, sizeof when);
    return json_pack ("{s:s, s:s, s:s, s:s, s:s}", "name", principal->name,
        "kind", principal->kind == PRINCIPAL_HOST? "host": "user",
        "role", principal->kind == PRINCIPAL_HOST? "host": role_name (principal->role),
        "key", principal->key, "created_at", when);
}

//  Allows a key; 0, or 1/2 with err.
static int
s_allow (const ctl_context_t *context, principal_kind_t kind, const json_t *args,
         role_t role, json_t **result, char *err, size_t err_size)
{
    const char *name = ctl_args_string (args, "name");
    const char *key = ctl_args_string (args, "key");
    const char *what = kind == PRINCIPAL_HOST? "host": "user";
    if (!s_valid_name (name)) {
        snprintf (err, err_size, "invalid %s name '%.64s': use letters, digits, '.', '-', '_'",
                  what, name);
        return 2;
    }
    if (!key || !keys_valid_z85 (key)) {
        snprintf (err, err_size, "a CURVE public key is needed (--key FILE, made with keygen)");
        return 2;
    }
    principal_record_t principal = { .kind = kind, .role = role, .created_at = context->wall };
    snprintf (principal.name, sizeof principal.name, "%s", name);
    snprintf (principal.key, sizeof principal.key, "%s", key);
    if (auth_find (context->auth, kind, principal.name)) {
        snprintf (err, err_size, "%s '%s' is allowed already (remove it first to change its "
                  "key)", what, principal.name);
        return 1;
    }
    for (size_t i = 0; i < auth_count (context->auth); i++) {
        const principal_record_t *other = auth_at (context->auth, i);
        if (strcmp (other->key, key) == 0) {
            snprintf (err, err_size, "this key is already allowed as %s '%s'; every host and "
                      "user needs its own key", other->kind == PRINCIPAL_HOST? "host": "user",
                      other->name);
            return 1;
        }
    }
    if (auth_allow (context->auth, &principal)) {
        snprintf (err, err_size, "out of memory");
        return 1;
    }
    mutation_t put = { .kind = MUTATION_PRINCIPAL_PUT, .at = context->wall };
    put.u.principal = principal;
    mutations_push (context->mutations, &put);
    log_info ("%s '%s' allowed%s%s by %s", what, principal.name, kind == PRINCIPAL_USER
              ? " as ": "", kind == PRINCIPAL_USER? role_name (role): "", context->who);
    *result = s_principal_json (&principal);
    return 0;
}

//  Revokes a key; 0 or 1 with err.
static int
s_revoke (const ctl_context_t *context, principal_kind_t kind, const char *name,
          json_t **result, char *err, size_t err_size)
{
    const char *what = kind == PRINCIPAL_HOST? "host": "user";
    if (!auth_find (context->auth, kind, name)) {
        snprintf (err, err_size, "no %s '%.64s' is allowed (see 'clusterctl user list', which "
                  "lists users and hosts)", what, name);
        return 1;
    }
    if (kind == PRINCIPAL_USER && context->principal
    &&  strcmp (context->principal->name, name) == 0) {
        snprintf (err, err_size, "you cannot delete yourself ('%s'); ask another admin", name);
        return 1;
    }
    auth_revoke (context->auth, kind, name);
    mutation_t gone = { .kind = MUTATION_PRINCIPAL_DELETE, .at = context->wall };
    gone.u.principal.kind = kind;
    snprintf (gone.u.principal.name, sizeof gone.u.principal.name, "%s", name);
    mutations_push (context->mutations, &gone);
    log_info ("%s '%s': key revoked by %s", what, name, context->who);
    *result = json_pack ("{s:s, s:s, s:b}", "name", name, "kind", what, "removed", true);
    return 0;
}

int
ctl_host_add (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
              size_t err_size)
{
    return s_allow (context, PRINCIPAL_HOST, args, ROLE_NONE, result, err, err_size);
}

int
ctl_host_remove (const ctl_context_t *context, const json_t *args, json_t **result,
                 char *err, size_t err_size)
{
    return s_revoke (context, PRINCIPAL_HOST, ctl_args_string (args, "name"), result, err,
                     err_size);
}

int
ctl_user_add (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
              size_t err_size)
{
    const char *role = ctl_args_string (args, "role");
    if (!role || role_parse (role) == ROLE_NONE) {
        snprintf (err, err_size, "--role must be viewer, operator or admin");
        return 2;
    }
    return s_allow (context, PRINCIPAL_USER, args, role_parse (role), result, err, err_size);
}

int
ctl_user_delete (const ctl_context_t *context, const json_t *args, json_t **result,
                 char *err, size_t err_size)
{
    return s_revoke (context, PRINCIPAL_USER, ctl_args_string (args, "name"), result, err,
                     err_size);
}

int
ctl_user_list (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
               size_t err_size)
{
    (void) args, (void) err, (void) err_size;
    json_t *users = json_array (), *hosts = json_array ();
    for (size_t i = 0; i < auth_count (context->auth); i++) {
        const principal_record_t *principal = auth_at (context->auth, i);
        json_array_append_new (principal->kind == PRINCIPAL_USER? users: hosts,
                               s_principal_json (principal));
    }
    *result = json_pack ("{s:o, s:o}", "users", users, "hosts", hosts);
    return 0;
}

static void
s_add_audit_row (void *arg, const store_audit_t *row)
{
    char when [40];
    clock_format_wall (row->at, when, sizeof when);
    json_t *args = json_loads (row->args, 0, NULL);
    json_array_append_new ((json_t *) arg, json_pack ("{s:I, s:s, s:s, s:s, s:o, s:i, s:s}",
        "id", (json_int_t) row->id, "at", when, "who", row->record.who,
        "verb", row->record.verb, "args", args? args: json_array (),
        "status", (int) row->record.status, "message", row->record.message));
}

int
ctl_audit (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
           size_t err_size)
{
    //  Ranges checked by the schema (since_ms >= 0, limit 1..100000).
    int64_t since_ms = ctl_args_integer (args, "since_ms", 0);
    int limit_rows = (int) ctl_args_integer (args, "limit", 100);
    json_t *rows = json_array ();
    if (store_load_audit (context->store, since_ms, limit_rows, s_add_audit_row, rows)) {
        json_decref (rows);
        snprintf (err, err_size, "cannot read the audit log (see the scheduler's log)");
        return 1;
    }
    *result = json_pack ("{s:o}", "audit", rows);
    return 0;
}
