/*  verbs.h - clusterctl's verb table: words, flags, request shaping, views, waiting.

    One row per verb (STYLE.md "adding a feature", step 4). A row says what the operator
    types, which scheduler request it becomes, which field of the request's JSON argument
    object (docs/clusterctl-json.md, "Request arguments") each positional argument and flag
    fills, and with which JSON type, how the answer is shown, and, for verbs that start something
    (vm start, vm migrate, host maintenance enter), how clusterctl follows it to the end.
*/
#ifndef VMSCHED_VERBS_H
#define VMSCHED_VERBS_H

#include "views.h"
#include "wire.h"

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define VERB_MAX_FLAGS 10

typedef enum {
    FLAG_VALUE = 1,     // --name VALUE  -> "key": "VALUE"
    FLAG_NUMBER,        // --name N      -> "key": N (an integer; clusterctl refuses other text)
    FLAG_LIST,          // --name A,B    -> "key": ["A", "B"]
    FLAG_FILE,          // --name FILE   -> "key": "<the file's content>"
    FLAG_SET,           // --name        -> "key": true
    FLAG_CLEAR,         // --name        -> "key": false
    FLAG_LOCAL,         // --name        -> a switch of clusterctl itself (key says which)
    FLAG_WAIT,          // --name SECS   -> how long clusterctl follows the operation
    FLAG_KEY,           // --name FILE   -> "key": "<the file's CURVE public key>"
    FLAG_TIME           // --name TIME   -> "key": <wall ms>; TIME is 30m, 2h, 1d or
                        //                  2026-12-01T10:00:00 (UTC)
} flag_kind_t;

typedef struct {
    const char *name;           // "--xml"
    const char *key;            // request key, or the local switch's name
    flag_kind_t kind;           // how it maps
    const char *help;           // one line
} verb_flag_t;

//  A clusterctl session: how to talk to the scheduler and where to write.
typedef struct {
    const char *server;         // ctl endpoint
    zcert_t *cert;              // the operator's key pair
    const char *server_key;     // the scheduler's public key (Z85)
    int timeout_ms;             // per request
    bool json;                  // -o json: print only the final document
    int wait_s;                 // give up after this long
    FILE *out;                  // results
    FILE *err;                  // errors
} verb_session_t;

//  A positional argument: the field it fills, and for a choice of two words their meaning.
typedef struct {
    const char *key;            // JSON field ("name")
    const char *yes;            // NULL: sent as a string; else the word sent as true ("enter")
    const char *no;             // the word sent as false ("exit")
} verb_pos_t;

typedef struct verb verb_t;

//  How a verb that starts something is followed (verbs.c).
typedef struct verb_watch verb_watch_t;

struct verb {
    const char *words;          // what the operator types: "vm migrate"
    const char *request;        // scheduler request verb: "vm.migrate"; NULL: local verb
    int min_args;               // fewest positional arguments
    int max_args;               // most positional arguments (-1: any, see rest_key)
    verb_pos_t pos [3];         // the field positional i fills
    const char *rest_key;       // positionals from rest_from on: an array of strings
    int rest_from;              // first positional that goes into rest_key
    const char *synopsis;       // "NAME [HOST] [--migration-timeout S]"
    const char *summary;        // one line for --help
    const char *help;           // paragraph for `clusterctl help VERB`
    view_fn *view;              // table rendering of the answer
    const verb_watch_t *watch;  // how clusterctl follows it to the end, or NULL
    verb_flag_t flags [VERB_MAX_FLAGS];    // verb options (name NULL ends)
};

//  The table.
extern const verb_t verb_table [];
extern const size_t verb_count;

//  Follows what verb started (its subject: name; the request's answer) until it is done,
//  failed, or session->wait_s passed. Returns an exit status (0, 1).
int verb_follow (const verb_session_t *session, const verb_t *verb, const char *name,
                 const json_t *answer);

//  One request/reply round with the argument object args (borrowed; NULL: none), printing
//  a refusal to session->err. Returns 0 with *answer (caller json_decref's it), or an exit
//  status (1 failed or refused, 2 usage).
int verb_call (const verb_session_t *session, const char *request, const json_t *args,
               json_t **answer);

#endif
