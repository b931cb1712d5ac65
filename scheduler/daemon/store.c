/*  store.c - the scheduler's SQLite database (see store.h for the contract).

    The only file that includes sqlite3.h. One connection, WAL journal, synchronous=FULL, so a
    committed batch survives a SIGKILL or a power cut. Every statement is prepared once at open.
    A batch is a transaction begun (BEGIN IMMEDIATE) by the first store_apply after a commit;
    any failure inside it poisons the batch, and store_commit then rolls it back as a whole.

    Schema changes are migrations: s_migrations [i] brings user_version i to i + 1. A database
    whose application_id is not ours, or whose user_version is newer than this binary knows, is
    refused with a message saying so; it is never modified.
*/
#include "store.h"
#include "log.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_APPLICATION_ID  0x766d7363     // "vmsc"
#define S_BUSY_TIMEOUT_MS 5000

//  Each entry is the SQL taking user_version from its index to index + 1.
static const char *s_migrations [] = {
    //  1: hosts, vms, their history, the leader epoch.
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL);"
    "CREATE TABLE hosts ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  boot_id TEXT NOT NULL,"
    "  hypervisor_uri TEXT NOT NULL,"
    "  agent_version TEXT NOT NULL,"
    "  state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 3),"
    "  generation INTEGER NOT NULL,"
    "  cpus INTEGER NOT NULL,"
    "  memory_mib INTEGER NOT NULL,"
    "  cpu_model TEXT NOT NULL,"
    "  cpu_flags TEXT NOT NULL,"
    "  nested INTEGER NOT NULL,"
    "  numa TEXT NOT NULL,"                 // JSON array of {id, cpus, memory_mib}
    "  registered_at INTEGER NOT NULL,"
    "  state_since INTEGER NOT NULL);"
    "CREATE TABLE vms ("
    "  uuid TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  host_id TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  vcpus INTEGER NOT NULL,"
    "  memory_kib INTEGER NOT NULL,"
    "  persistent INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE transitions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at INTEGER NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  entity_id TEXT NOT NULL,"
    "  from_state TEXT NOT NULL,"
    "  to_state TEXT NOT NULL,"
    "  detail TEXT NOT NULL);"
    "CREATE INDEX transitions_by_entity ON transitions (entity_id, id);",

    //  2: cluster-managed VMs, rules, operations, placement decisions; host maintenance.
    "ALTER TABLE hosts ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE hosts ADD COLUMN migration_uri TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE specs ("
    "  uuid TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  xml TEXT,"
    "  want INTEGER NOT NULL CHECK (want BETWEEN 1 AND 3),"
    "  ha INTEGER NOT NULL,"
    "  priority INTEGER NOT NULL,"
    "  vcpus INTEGER NOT NULL,"
    "  memory_mib INTEGER NOT NULL,"
    "  cpu_reserve INTEGER NOT NULL,"
    "  mem_reserve_mib INTEGER NOT NULL,"
    "  needs_nested INTEGER NOT NULL,"
    "  migratable INTEGER NOT NULL,"
    "  generation INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE rules ("
    "  name TEXT PRIMARY KEY,"
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),"
    "  hard INTEGER NOT NULL,"
    "  positive INTEGER NOT NULL,"
    "  weight INTEGER NOT NULL,"
    "  vms TEXT NOT NULL,"                  // JSON array of VM names
    "  hosts TEXT NOT NULL,"                // JSON array of host names
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE operations ("
    "  id INTEGER PRIMARY KEY,"
    "  vm_uuid TEXT NOT NULL,"
    "  vm_name TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  host_id TEXT NOT NULL,"
    "  target_host_id TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER NOT NULL);"
    "CREATE INDEX operations_by_vm ON operations (vm_uuid, id);"
    "CREATE TABLE decisions ("
    "  vm_uuid TEXT PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  host TEXT NOT NULL,"
    "  summary TEXT NOT NULL,"
    "  verdicts TEXT NOT NULL);",           // JSON array of {host, fits, score, reason}

    //  3: the allow list of keys and the audit log.
    "CREATE TABLE principals ("
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 2),"
    "  name TEXT NOT NULL,"
    "  role INTEGER NOT NULL,"
    "  key TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, name));"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at INTEGER NOT NULL,"
    "  who TEXT NOT NULL,"
    "  verb TEXT NOT NULL,"
    "  args TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  message TEXT NOT NULL);"
    "CREATE INDEX audit_by_time ON audit (at);",

    //  4: one row per observed copy (uuid, host), where the database places a managed VM,
    //  the hosts where a copy may run because of a command (DESIGN.md §5.9), and the
    //  registration each command was fenced with.
    "CREATE TABLE vm_copies ("
    "  uuid TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  host_id TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  vcpus INTEGER NOT NULL,"
    "  memory_kib INTEGER NOT NULL,"
    "  persistent INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (uuid, host_id));"
    "INSERT INTO vm_copies SELECT uuid, name, host_id, state, vcpus, memory_kib, persistent,"
    "  updated_at FROM vms;"
    "DROP TABLE vms;"
    "ALTER TABLE vm_copies RENAME TO vms;"
    "ALTER TABLE specs ADD COLUMN host_id TEXT NOT NULL DEFAULT '';"
    "UPDATE specs SET host_id = coalesce ((SELECT host_id FROM vms WHERE vms.uuid = specs.uuid"
    "  LIMIT 1), '');"
    "ALTER TABLE operations ADD COLUMN host_generation INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE may_run ("
    "  vm_uuid TEXT NOT NULL,"
    "  host_id TEXT NOT NULL,"
    "  op_id INTEGER NOT NULL,"
    "  host_generation INTEGER NOT NULL,"
    "  PRIMARY KEY (vm_uuid, host_id, op_id));"
    "INSERT INTO may_run SELECT vm_uuid, CASE action WHEN 'migrate' THEN target_host_id"
    "  ELSE host_id END, id, 0 FROM operations WHERE state = 'running'"
    "  AND action IN ('start', 'migrate');",

    //  5: HA (DESIGN.md §5): the state 'dead', each host's witness endpoint, watchdog and
    //  key, and the failover timeline. The state's CHECK changes: the table is rebuilt.
    "CREATE TABLE hosts_v5 ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  boot_id TEXT NOT NULL,"
    "  hypervisor_uri TEXT NOT NULL,"
    "  agent_version TEXT NOT NULL,"
    "  state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 4),"
    "  generation INTEGER NOT NULL,"
    "  cpus INTEGER NOT NULL,"
    "  memory_mib INTEGER NOT NULL,"
    "  cpu_model TEXT NOT NULL,"
    "  cpu_flags TEXT NOT NULL,"
    "  nested INTEGER NOT NULL,"
    "  numa TEXT NOT NULL,"
    "  registered_at INTEGER NOT NULL,"
    "  state_since INTEGER NOT NULL,"
    "  maintenance INTEGER NOT NULL DEFAULT 0,"
    "  migration_uri TEXT NOT NULL DEFAULT '',"
    "  witness_endpoint TEXT NOT NULL DEFAULT '',"
    "  watchdog TEXT NOT NULL DEFAULT 'none',"
    "  public_key TEXT NOT NULL DEFAULT '');"
    "INSERT INTO hosts_v5 (id, name, boot_id, hypervisor_uri, agent_version, state,"
    "  generation, cpus, memory_mib, cpu_model, cpu_flags, nested, numa, registered_at,"
    "  state_since, maintenance, migration_uri) SELECT id, name, boot_id, hypervisor_uri,"
    "  agent_version, state, generation, cpus, memory_mib, cpu_model, cpu_flags, nested, numa,"
    "  registered_at, state_since, maintenance, migration_uri FROM hosts;"
    "DROP TABLE hosts;"
    "ALTER TABLE hosts_v5 RENAME TO hosts;"
    "CREATE TABLE host_events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  host_id TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  detail TEXT NOT NULL);"
    "CREATE INDEX host_events_by_host ON host_events (host_id, id);",
};
#define S_SCHEMA_VERSION ((int) (sizeof s_migrations / sizeof s_migrations [0]))

typedef enum {
    S_BEGIN, S_COMMIT, S_ROLLBACK,
    S_EPOCH_GET, S_EPOCH_PUT, S_SEQ_GET, S_SEQ_PUT,
    S_HOST_PUT, S_HOST_STATE, S_HOST_LOAD,
    S_VM_PUT, S_VM_DELETE, S_VM_LOAD,
    S_TRANSITION_ADD, S_TRANSITIONS_OF, S_TRANSITIONS_ALL,
    S_SPEC_PUT, S_SPEC_DELETE, S_SPEC_LOAD,
    S_RULE_PUT, S_RULE_DELETE, S_RULE_LOAD,
    S_OP_PUT, S_OP_MAX, S_OPS_OF, S_OPS_ABANDON,
    S_DECISION_PUT, S_DECISION_DELETE, S_DECISION_GET,
    S_PRINCIPAL_PUT, S_PRINCIPAL_DELETE, S_PRINCIPAL_LOAD,
    S_AUDIT_ADD, S_AUDIT_SINCE,
    S_MAY_RUN_PUT, S_MAY_RUN_DELETE, S_MAY_RUN_LOAD,
    S_HOST_EVENT_ADD, S_HOST_EVENT_LOAD,
    S_STATEMENT_COUNT
} s_statement_t;

static const char *s_sql [S_STATEMENT_COUNT] = {
    [S_BEGIN]     = "BEGIN IMMEDIATE",
    [S_COMMIT]    = "COMMIT",
    [S_ROLLBACK]  = "ROLLBACK",
    [S_EPOCH_GET] = "SELECT value FROM meta WHERE key = 'epoch'",
    [S_SEQ_GET]   = "SELECT value FROM meta WHERE key = 'mutation_seq'",
    [S_SEQ_PUT]   = "INSERT INTO meta (key, value) VALUES ('mutation_seq', ?1)"
                    " ON CONFLICT (key) DO UPDATE SET value = max (value, excluded.value)",
    [S_EPOCH_PUT] = "INSERT INTO meta (key, value) VALUES ('epoch', ?1)"
                    " ON CONFLICT (key) DO UPDATE SET value = max (value, excluded.value)",
    //  An upsert by id, not INSERT OR REPLACE: a second host under a taken name must fail,
    //  never silently delete the first.
    [S_HOST_PUT]  = "INSERT INTO hosts (id, name, boot_id, hypervisor_uri,"
                    " agent_version, state, generation, cpus, memory_mib, cpu_model, cpu_flags,"
                    " nested, numa, registered_at, state_since, maintenance, migration_uri,"
                    " witness_endpoint, watchdog, public_key)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
                    " ?16, ?17, ?18, ?19, ?20)"
                    " ON CONFLICT (id) DO UPDATE SET name = ?2, boot_id = ?3,"
                    " hypervisor_uri = ?4, agent_version = ?5, state = ?6, generation = ?7,"
                    " cpus = ?8, memory_mib = ?9, cpu_model = ?10, cpu_flags = ?11, nested = ?12,"
                    " numa = ?13, registered_at = ?14, state_since = ?15, maintenance = ?16,"
                    " migration_uri = ?17, witness_endpoint = ?18, watchdog = ?19,"
                    " public_key = ?20",
    [S_HOST_STATE] = "UPDATE hosts SET state = ?2, state_since = ?3 WHERE id = ?1",
    [S_HOST_LOAD] = "SELECT id, name, boot_id, hypervisor_uri, agent_version, state, generation,"
                    " cpus, memory_mib, cpu_model, cpu_flags, nested, numa, registered_at,"
                    " state_since, maintenance, migration_uri, witness_endpoint, watchdog,"
                    " public_key FROM hosts ORDER BY name",
    [S_VM_PUT]    = "INSERT OR REPLACE INTO vms (uuid, name, host_id, state, vcpus, memory_kib,"
                    " persistent, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_VM_DELETE] = "DELETE FROM vms WHERE uuid = ?1 AND host_id = ?2",
    [S_VM_LOAD]   = "SELECT uuid, name, host_id, state, vcpus, memory_kib, persistent,"
                    " updated_at FROM vms ORDER BY name, uuid, host_id",
    [S_TRANSITION_ADD] = "INSERT INTO transitions (at, entity, entity_id, from_state, to_state,"
                         " detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_TRANSITIONS_OF] = "SELECT * FROM (SELECT id, at, entity, entity_id, from_state,"
                         " to_state, detail FROM transitions WHERE entity_id = ?1"
                         " ORDER BY id DESC LIMIT ?2) ORDER BY id",
    [S_TRANSITIONS_ALL] = "SELECT * FROM (SELECT id, at, entity, entity_id, from_state,"
                          " to_state, detail FROM transitions ORDER BY id DESC LIMIT ?2)"
                          " ORDER BY id",
    //  A NULL xml keeps the stored one (policy changes do not resend the definition).
    [S_SPEC_PUT] = "INSERT INTO specs (uuid, name, xml, want, ha, priority, vcpus, memory_mib,"
                   " cpu_reserve, mem_reserve_mib, needs_nested, migratable, generation, reason,"
                   " created_at, updated_at, host_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                   " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) ON CONFLICT (uuid) DO UPDATE"
                   " SET name = ?2, xml = coalesce (?3, xml), want = ?4, ha = ?5, priority = ?6,"
                   " vcpus = ?7, memory_mib = ?8, cpu_reserve = ?9, mem_reserve_mib = ?10,"
                   " needs_nested = ?11, migratable = ?12, generation = ?13, reason = ?14,"
                   " created_at = ?15, updated_at = ?16, host_id = ?17",
    [S_SPEC_DELETE] = "DELETE FROM specs WHERE uuid = ?1",
    [S_SPEC_LOAD] = "SELECT uuid, name, xml, want, ha, priority, vcpus, memory_mib, cpu_reserve,"
                    " mem_reserve_mib, needs_nested, migratable, generation, reason, created_at,"
                    " updated_at, host_id FROM specs ORDER BY name",
    [S_RULE_PUT] = "INSERT INTO rules (name, kind, hard, positive, weight, vms, hosts,"
                   " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_RULE_DELETE] = "DELETE FROM rules WHERE name = ?1",
    [S_RULE_LOAD] = "SELECT name, kind, hard, positive, weight, vms, hosts, created_at"
                    " FROM rules ORDER BY name",
    [S_OP_PUT] = "INSERT OR REPLACE INTO operations (id, vm_uuid, vm_name, action, host_id,"
                 " target_host_id, state, message, started_at, finished_at, host_generation)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [S_OP_MAX] = "SELECT coalesce (max (id), 0) FROM operations",
    [S_OPS_OF] = "SELECT * FROM (SELECT id, vm_uuid, vm_name, action, host_id, target_host_id,"
                 " state, message, started_at, finished_at, host_generation FROM operations"
                 " WHERE vm_uuid = ?1"
                 " ORDER BY id DESC LIMIT ?2) ORDER BY id",
    [S_OPS_ABANDON] = "UPDATE operations SET state = 'abandoned', finished_at = ?1,"
                      " message = 'the scheduler restarted while it ran; the desired state"
                      " is reconciled again' WHERE state = 'running'",
    [S_DECISION_PUT] = "INSERT OR REPLACE INTO decisions (vm_uuid, at, host, summary, verdicts)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_DECISION_DELETE] = "DELETE FROM decisions WHERE vm_uuid = ?1",
    [S_DECISION_GET] = "SELECT at, host, summary, verdicts FROM decisions WHERE vm_uuid = ?1",
    //  Plain INSERT: a taken name or key must fail, never replace a principal silently.
    [S_PRINCIPAL_PUT] = "INSERT INTO principals (kind, name, role, key, created_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_PRINCIPAL_DELETE] = "DELETE FROM principals WHERE kind = ?1 AND name = ?2",
    [S_PRINCIPAL_LOAD] = "SELECT kind, name, role, key, created_at FROM principals"
                         " ORDER BY kind, name",
    [S_AUDIT_ADD] = "INSERT INTO audit (at, who, verb, args, status, message)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_AUDIT_SINCE] = "SELECT * FROM (SELECT id, at, who, verb, args, status, message FROM audit"
                      " WHERE at >= ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
    [S_MAY_RUN_PUT] = "INSERT OR REPLACE INTO may_run (vm_uuid, host_id, op_id, host_generation)"
                      " VALUES (?1, ?2, ?3, ?4)",
    [S_MAY_RUN_DELETE] = "DELETE FROM may_run WHERE vm_uuid = ?1 AND host_id = ?2"
                         " AND op_id = ?3",
    [S_MAY_RUN_LOAD] = "SELECT vm_uuid, host_id, op_id, host_generation FROM may_run"
                       " ORDER BY vm_uuid, op_id",
    [S_HOST_EVENT_ADD] = "INSERT INTO host_events (host_id, at, kind, detail)"
                         " VALUES (?1, ?2, ?3, ?4)",
    [S_HOST_EVENT_LOAD] = "SELECT host_id, at, kind, detail FROM (SELECT id, host_id, at, kind,"
                          " detail, row_number () OVER (PARTITION BY host_id ORDER BY id DESC)"
                          " AS newest FROM host_events) WHERE newest <= ?1 ORDER BY id",
};

struct store {
    sqlite3 *db;                                // the connection
    char path [512];                            // database file, for messages
    sqlite3_stmt *statements [S_STATEMENT_COUNT];   // prepared once
    bool in_batch;                              // a transaction is open
    bool batch_failed;                          // something in it failed: roll back
    size_t pending;                             // mutations in the open batch
    uint64_t batch_seq;                         // highest mutation seq in the open batch
    int fail_countdown;                         // fault injection: fail when it reaches 1
};

//  --------------------------------------------------------------------------
//  Helpers

//  Logs the connection's last error for `what` and returns -1.
static int
s_fail (store_t *self, const char *what)
{
    log_error ("database '%s': cannot %s: %s", self->path, what, sqlite3_errmsg (self->db));
    return -1;
}

//  True when the injected fault fires for this call.
static bool
s_injected_fault (store_t *self)
{
    if (self->fail_countdown <= 0)
        return false;
    if (--self->fail_countdown > 0)
        return false;
    log_error ("database '%s': injected fault", self->path);
    return true;
}

//  Resets and clears a statement for its next use.
static sqlite3_stmt *
s_statement (store_t *self, s_statement_t which)
{
    sqlite3_stmt *statement = self->statements [which];
    sqlite3_reset (statement);
    sqlite3_clear_bindings (statement);
    return statement;
}

//  Runs a statement that returns no rows. 0 or -1 (logged).
static int
s_run (store_t *self, sqlite3_stmt *statement, const char *what)
{
    int rc = sqlite3_step (statement);
    sqlite3_reset (statement);
    return rc == SQLITE_DONE? 0: s_fail (self, what);
}

static void
s_bind_text (sqlite3_stmt *statement, int index, const char *text)
{
    sqlite3_bind_text (statement, index, text, -1, SQLITE_STATIC);
}

//  Copies a text column into a fixed buffer (NULL becomes "").
static void
s_column_text (sqlite3_stmt *statement, int column, char *buffer, size_t size)
{
    const unsigned char *text = sqlite3_column_text (statement, column);
    snprintf (buffer, size, "%s", text? (const char *) text: "");
}

static int
s_exec (store_t *self, const char *sql, const char *what)
{
    char *message = NULL;
    if (sqlite3_exec (self->db, sql, NULL, NULL, &message) == SQLITE_OK)
        return 0;
    log_error ("database '%s': cannot %s: %s", self->path, what, message? message: "?");
    sqlite3_free (message);
    return -1;
}

static int
s_pragma_int (store_t *self, const char *pragma, int *value)
{
    char sql [64];
    snprintf (sql, sizeof sql, "PRAGMA %s", pragma);
    sqlite3_stmt *statement;
    if (sqlite3_prepare_v2 (self->db, sql, -1, &statement, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step (statement);
    *value = rc == SQLITE_ROW? sqlite3_column_int (statement, 0): 0;
    sqlite3_finalize (statement);
    return rc == SQLITE_ROW || rc == SQLITE_DONE? 0: -1;
}

//  --------------------------------------------------------------------------
//  Opening and migrating

//  Checks that the file is ours (or new) and migrates it to S_SCHEMA_VERSION.
static int
s_migrate (store_t *self, char *err, size_t err_size)
{
    int application_id, version;
    if (s_pragma_int (self, "application_id", &application_id)
    ||  s_pragma_int (self, "user_version", &version)) {
        snprintf (err, err_size, "cannot read '%s': %s (is it an SQLite database?)",
                  self->path, sqlite3_errmsg (self->db));
        return -1;
    }
    if (application_id == 0 && version == 0) {
        int tables = 0;
        sqlite3_stmt *statement;
        if (sqlite3_prepare_v2 (self->db, "SELECT count(*) FROM sqlite_master", -1,
                                &statement, NULL) == SQLITE_OK) {
            if (sqlite3_step (statement) == SQLITE_ROW)
                tables = sqlite3_column_int (statement, 0);
            sqlite3_finalize (statement);
        }
        if (tables > 0) {
            snprintf (err, err_size, "'%s' is an SQLite database of another program; "
                      "point [scheduler] database at a new or vmsched file", self->path);
            return -1;
        }
    }
    else
    if (application_id != S_APPLICATION_ID) {
        snprintf (err, err_size, "'%s' is not a vmsched database (application_id %#x); "
                  "point [scheduler] database at a new or vmsched file", self->path,
                  (unsigned) application_id);
        return -1;
    }
    if (version > S_SCHEMA_VERSION) {
        snprintf (err, err_size, "'%s' has schema version %d, newer than this vmsched knows "
                  "(%d): upgrade vmsched-scheduler, never downgrade a database", self->path,
                  version, S_SCHEMA_VERSION);
        return -1;
    }
    for (; version < S_SCHEMA_VERSION; version++) {
        char finish [96];
        snprintf (finish, sizeof finish, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
                  S_APPLICATION_ID, version + 1);
        if (s_exec (self, "BEGIN IMMEDIATE", "begin a migration")
        ||  s_exec (self, s_migrations [version], "migrate the schema")
        ||  s_exec (self, finish, "record the schema version")
        ||  s_exec (self, "COMMIT", "commit a migration")) {
            s_exec (self, "ROLLBACK", "roll back a failed migration");
            snprintf (err, err_size, "cannot migrate '%s' to schema version %d: %s",
                      self->path, version + 1, sqlite3_errmsg (self->db));
            return -1;
        }
        log_info ("database '%s': schema migrated to version %d", self->path, version + 1);
    }
    return 0;
}

store_t *
store_open (const char *path, char *err, size_t err_size)
{
    store_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    snprintf (self->path, sizeof self->path, "%s", path);
    if (sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                        | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf (err, err_size, "cannot open database '%s': %s", path,
                  self->db? sqlite3_errmsg (self->db): "out of memory");
        store_destroy (&self);
        return NULL;
    }
    sqlite3_busy_timeout (self->db, S_BUSY_TIMEOUT_MS);
    if (s_exec (self, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                      " PRAGMA foreign_keys = ON;", "configure the connection")) {
        snprintf (err, err_size, "cannot use database '%s': %s (is the directory writable "
                  "and the file a database?)", path, sqlite3_errmsg (self->db));
        store_destroy (&self);
        return NULL;
    }
    if (s_migrate (self, err, err_size)) {
        store_destroy (&self);
        return NULL;
    }
    for (int i = 0; i < S_STATEMENT_COUNT; i++)
        if (sqlite3_prepare_v3 (self->db, s_sql [i], -1, SQLITE_PREPARE_PERSISTENT,
                                &self->statements [i], NULL) != SQLITE_OK) {
            snprintf (err, err_size, "database '%s': cannot prepare '%s': %s", path, s_sql [i],
                      sqlite3_errmsg (self->db));
            store_destroy (&self);
            return NULL;
        }
    return self;
}

void
store_destroy (store_t **self_p)
{
    store_t *self = *self_p;
    if (!self)
        return;
    if (self->in_batch)
        s_run (self, s_statement (self, S_ROLLBACK), "roll back the open batch");
    for (int i = 0; i < S_STATEMENT_COUNT; i++)
        sqlite3_finalize (self->statements [i]);
    sqlite3_close (self->db);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Writing

static int
s_add_transition (store_t *self, int64_t at, const char *entity, const char *entity_id,
                  const char *from, const char *to, const char *detail)
{
    sqlite3_stmt *statement = s_statement (self, S_TRANSITION_ADD);
    sqlite3_bind_int64 (statement, 1, at);
    s_bind_text (statement, 2, entity);
    s_bind_text (statement, 3, entity_id);
    s_bind_text (statement, 4, from);
    s_bind_text (statement, 5, to);
    s_bind_text (statement, 6, detail);
    return s_run (self, statement, "record a transition");
}

//  The NUMA cells as a JSON array (caller frees), NULL when out of memory.
static char *
s_numa_encode (const wire_capacity_t *capacity)
{
    json_t *cells = json_array ();
    for (uint32_t i = 0; i < capacity->numa_count && i < WIRE_MAX_NUMA; i++)
        json_array_append_new (cells, json_pack ("{s:I, s:I, s:I}",
            "id", (json_int_t) capacity->numa [i].id,
            "cpus", (json_int_t) capacity->numa [i].cpus,
            "memory_mib", (json_int_t) capacity->numa [i].memory_mib));
    char *text = json_dumps (cells, JSON_COMPACT);
    json_decref (cells);
    return text;
}

//  Reads the NUMA JSON back; a damaged value is logged and leaves no cells.
static void
s_numa_decode (const char *host_name, const char *text, wire_capacity_t *capacity)
{
    json_error_t error;
    json_t *cells = json_loads (text, 0, &error);
    size_t index;
    json_t *cell;
    capacity->numa_count = 0;
    if (!json_is_array (cells)) {
        log_warn ("host '%s': stored NUMA cells unreadable (%s); reported again at the next "
                  "registration", host_name, cells? "not an array": error.text);
        json_decref (cells);
        return;
    }
    json_array_foreach (cells, index, cell) {
        json_int_t id = 0, cpus = 0, memory_mib = 0;
        if (index >= WIRE_MAX_NUMA
        ||  json_unpack (cell, "{s:I, s:I, s:I}", "id", &id, "cpus", &cpus,
                         "memory_mib", &memory_mib))
            break;
        capacity->numa [index] = (wire_numa_t) { (uint32_t) id, (uint32_t) cpus,
                                                 (uint64_t) memory_mib };
        capacity->numa_count = (uint32_t) index + 1;
    }
    json_decref (cells);
}

static int
s_host_put (store_t *self, const host_record_t *host)
{
    char *numa = s_numa_encode (&host->capacity);
    if (!numa) {
        log_error ("database '%s': cannot store host '%s': out of memory", self->path,
                   host->name);
        return -1;
    }
    sqlite3_stmt *statement = s_statement (self, S_HOST_PUT);
    s_bind_text (statement, 1, host->id);
    s_bind_text (statement, 2, host->name);
    s_bind_text (statement, 3, host->boot_id);
    s_bind_text (statement, 4, host->hypervisor_uri);
    s_bind_text (statement, 5, host->agent_version);
    sqlite3_bind_int (statement, 6, host->state);
    sqlite3_bind_int64 (statement, 7, (sqlite3_int64) host->generation);
    sqlite3_bind_int64 (statement, 8, host->capacity.cpus);
    sqlite3_bind_int64 (statement, 9, (sqlite3_int64) host->capacity.memory_mib);
    s_bind_text (statement, 10, host->capacity.cpu_model);
    s_bind_text (statement, 11, host->capacity.cpu_flags);
    sqlite3_bind_int (statement, 12, host->capacity.nested);
    s_bind_text (statement, 13, numa);
    sqlite3_bind_int64 (statement, 14, host->registered_at);
    sqlite3_bind_int64 (statement, 15, host->state_since);
    sqlite3_bind_int (statement, 16, host->maintenance);
    s_bind_text (statement, 17, host->migration_uri);
    s_bind_text (statement, 18, host->witness_endpoint);
    s_bind_text (statement, 19, host->watchdog);
    s_bind_text (statement, 20, host->public_key);
    int rc = s_run (self, statement, "store a host");
    free (numa);
    return rc;
}

static int
s_host_state (store_t *self, const mutation_t *mutation)
{
    sqlite3_stmt *statement = s_statement (self, S_HOST_STATE);
    s_bind_text (statement, 1, mutation->u.host_state.host_id);
    sqlite3_bind_int (statement, 2, mutation->u.host_state.to);
    sqlite3_bind_int64 (statement, 3, mutation->at);
    host_state_t from = mutation->u.host_state.from;
    bool known = from >= HOST_STATE_UP && from <= HOST_STATE_DEAD;
    if (s_run (self, statement, "store a host state"))
        return -1;
    return s_add_transition (self, mutation->at, "host", mutation->u.host_state.host_id,
                             known? host_state_name (from): "",
                             host_state_name (mutation->u.host_state.to),
                             mutation->u.host_state.reason);
}

static int
s_vm_put (store_t *self, const mutation_t *mutation)
{
    const vm_record_t *vm = &mutation->u.vm_put.vm;
    sqlite3_stmt *statement = s_statement (self, S_VM_PUT);
    s_bind_text (statement, 1, vm->uuid);
    s_bind_text (statement, 2, vm->name);
    s_bind_text (statement, 3, vm->host_id);
    sqlite3_bind_int (statement, 4, vm->state);
    sqlite3_bind_int64 (statement, 5, vm->vcpus);
    sqlite3_bind_int64 (statement, 6, (sqlite3_int64) vm->memory_kib);
    sqlite3_bind_int (statement, 7, vm->persistent);
    sqlite3_bind_int64 (statement, 8, vm->updated_at);
    if (s_run (self, statement, "store a vm"))
        return -1;
    //  History: new copies and state changes, nothing else (reports repeat).
    bool existed = mutation->u.vm_put.existed;
    if (existed && mutation->u.vm_put.prev_state == vm->state)
        return 0;
    char detail [WIRE_TEXT_SIZE];
    snprintf (detail, sizeof detail, "on host %.40s", vm->host_id);
    return s_add_transition (self, mutation->at, "vm", vm->uuid,
                             existed? domain_state_name (mutation->u.vm_put.prev_state): "",
                             domain_state_name (vm->state), detail);
}

static int
s_vm_delete (store_t *self, const mutation_t *mutation)
{
    sqlite3_stmt *statement = s_statement (self, S_VM_DELETE);
    s_bind_text (statement, 1, mutation->u.vm_delete.uuid);
    s_bind_text (statement, 2, mutation->u.vm_delete.host_id);
    if (s_run (self, statement, "delete a vm"))
        return -1;
    return s_add_transition (self, mutation->at, "vm", mutation->u.vm_delete.uuid, "",
                             "deleted", mutation->u.vm_delete.reason);
}

static int
s_may_run (store_t *self, const mutation_t *mutation)
{
    const may_run_record_t *entry = &mutation->u.may_run;
    bool put = mutation->kind == MUTATION_MAY_RUN_PUT;
    sqlite3_stmt *statement = s_statement (self, put? S_MAY_RUN_PUT: S_MAY_RUN_DELETE);
    s_bind_text (statement, 1, entry->vm_uuid);
    s_bind_text (statement, 2, entry->host_id);
    sqlite3_bind_int64 (statement, 3, (sqlite3_int64) entry->op_id);
    if (put)
        sqlite3_bind_int64 (statement, 4, (sqlite3_int64) entry->host_generation);
    return s_run (self, statement, put? "record where a vm may run": "clear where a vm may run");
}

static int
s_host_event (store_t *self, const host_event_record_t *event)
{
    sqlite3_stmt *statement = s_statement (self, S_HOST_EVENT_ADD);
    s_bind_text (statement, 1, event->host_id);
    sqlite3_bind_int64 (statement, 2, event->at);
    s_bind_text (statement, 3, event->kind);
    s_bind_text (statement, 4, event->detail);
    return s_run (self, statement, "record a host's timeline");
}

static int
s_spec_put (store_t *self, const mutation_t *mutation)
{
    const spec_record_t *spec = &mutation->u.spec;
    sqlite3_stmt *statement = s_statement (self, S_SPEC_PUT);
    s_bind_text (statement, 1, spec->uuid);
    s_bind_text (statement, 2, spec->name);
    if (mutation->blob)
        s_bind_text (statement, 3, mutation->blob);
    else
        sqlite3_bind_null (statement, 3);
    sqlite3_bind_int (statement, 4, spec->want);
    sqlite3_bind_int (statement, 5, spec->ha);
    sqlite3_bind_int (statement, 6, spec->priority);
    sqlite3_bind_int64 (statement, 7, spec->vcpus);
    sqlite3_bind_int64 (statement, 8, (sqlite3_int64) spec->memory_mib);
    sqlite3_bind_int64 (statement, 9, spec->cpu_reserve);
    sqlite3_bind_int64 (statement, 10, (sqlite3_int64) spec->mem_reserve_mib);
    sqlite3_bind_int (statement, 11, spec->needs_nested);
    sqlite3_bind_int (statement, 12, spec->migratable);
    sqlite3_bind_int64 (statement, 13, (sqlite3_int64) spec->generation);
    s_bind_text (statement, 14, spec->reason);
    sqlite3_bind_int64 (statement, 15, spec->created_at);
    sqlite3_bind_int64 (statement, 16, spec->updated_at);
    s_bind_text (statement, 17, spec->host_id);
    return s_run (self, statement, "store a managed vm");
}

static int
s_spec_delete (store_t *self, const mutation_t *mutation)
{
    sqlite3_stmt *statement = s_statement (self, S_SPEC_DELETE);
    s_bind_text (statement, 1, mutation->u.spec_uuid);
    if (s_run (self, statement, "delete a managed vm"))
        return -1;
    statement = s_statement (self, S_DECISION_DELETE);
    s_bind_text (statement, 1, mutation->u.spec_uuid);
    if (s_run (self, statement, "delete a decision"))
        return -1;
    return s_add_transition (self, mutation->at, "vm", mutation->u.spec_uuid, "",
                             "deleted", "deleted by the operator");
}

//  A JSON array of count names (caller frees), NULL when out of memory.
static char *
s_names_encode (const char names [][WIRE_NAME_SIZE], uint32_t count)
{
    json_t *array = json_array ();
    for (uint32_t i = 0; i < count; i++)
        json_array_append_new (array, json_string (names [i]));
    char *text = json_dumps (array, JSON_COMPACT);
    json_decref (array);
    return text;
}

//  Reads a JSON array of names back into names (at most RULE_MAX_MEMBERS); returns count.
static uint32_t
s_names_decode (const char *text, char names [][WIRE_NAME_SIZE])
{
    json_t *array = json_loads (text? text: "[]", 0, NULL);
    uint32_t count = 0;
    size_t index;
    json_t *name;
    json_array_foreach (array, index, name)
        if (count < RULE_MAX_MEMBERS && json_is_string (name))
            snprintf (names [count++], WIRE_NAME_SIZE, "%s", json_string_value (name));
    json_decref (array);
    return count;
}

static int
s_rule_put (store_t *self, const rule_record_t *rule)
{
    char *vms = s_names_encode (rule->vms, rule->vm_count);
    char *hosts = s_names_encode (rule->hosts, rule->host_count);
    int rc = -1;
    if (!vms || !hosts)
        log_error ("database '%s': cannot store rule '%s': out of memory", self->path,
                   rule->name);
    else {
        sqlite3_stmt *statement = s_statement (self, S_RULE_PUT);
        s_bind_text (statement, 1, rule->name);
        sqlite3_bind_int (statement, 2, rule->kind);
        sqlite3_bind_int (statement, 3, rule->hard);
        sqlite3_bind_int (statement, 4, rule->positive);
        sqlite3_bind_int64 (statement, 5, rule->weight);
        s_bind_text (statement, 6, vms);
        s_bind_text (statement, 7, hosts);
        sqlite3_bind_int64 (statement, 8, rule->created_at);
        rc = s_run (self, statement, "store a rule");
    }
    free (vms);
    free (hosts);
    return rc;
}

static int
s_op_put (store_t *self, const op_record_t *op)
{
    sqlite3_stmt *statement = s_statement (self, S_OP_PUT);
    sqlite3_bind_int64 (statement, 1, (sqlite3_int64) op->id);
    s_bind_text (statement, 2, op->vm_uuid);
    s_bind_text (statement, 3, op->vm_name);
    s_bind_text (statement, 4, command_action_name (op->action));
    s_bind_text (statement, 5, op->host_id);
    s_bind_text (statement, 6, op->target_host_id);
    s_bind_text (statement, 7, op->state);
    s_bind_text (statement, 8, op->message);
    sqlite3_bind_int64 (statement, 9, op->started_at);
    sqlite3_bind_int64 (statement, 10, op->finished_at);
    sqlite3_bind_int64 (statement, 11, (sqlite3_int64) op->host_generation);
    return s_run (self, statement, "store an operation");
}

static int
s_decision_put (store_t *self, const mutation_t *mutation)
{
    sqlite3_stmt *statement = s_statement (self, S_DECISION_PUT);
    s_bind_text (statement, 1, mutation->u.decision.vm_uuid);
    sqlite3_bind_int64 (statement, 2, mutation->at);
    s_bind_text (statement, 3, mutation->u.decision.host);
    s_bind_text (statement, 4, mutation->u.decision.summary);
    s_bind_text (statement, 5, mutation->blob? mutation->blob: "[]");
    return s_run (self, statement, "store a decision");
}

static int
s_principal (store_t *self, const mutation_t *mutation)
{
    const principal_record_t *p = &mutation->u.principal;
    bool put = mutation->kind == MUTATION_PRINCIPAL_PUT;
    sqlite3_stmt *statement = s_statement (self, put? S_PRINCIPAL_PUT: S_PRINCIPAL_DELETE);
    sqlite3_bind_int (statement, 1, p->kind);
    s_bind_text (statement, 2, p->name);
    if (put) {
        sqlite3_bind_int (statement, 3, p->role);
        s_bind_text (statement, 4, p->key);
        sqlite3_bind_int64 (statement, 5, p->created_at);
    }
    return s_run (self, statement, put? "store a key": "delete a key");
}

static int
s_audit (store_t *self, const mutation_t *mutation)
{
    const audit_record_t *a = &mutation->u.audit;
    sqlite3_stmt *statement = s_statement (self, S_AUDIT_ADD);
    sqlite3_bind_int64 (statement, 1, mutation->at);
    s_bind_text (statement, 2, a->who);
    s_bind_text (statement, 3, a->verb);
    s_bind_text (statement, 4, mutation->blob? mutation->blob: "");
    sqlite3_bind_int (statement, 5, a->status);
    s_bind_text (statement, 6, a->message);
    return s_run (self, statement, "audit a request");
}

static int
s_write (store_t *self, const mutation_t *mutation)
{
    switch (mutation->kind) {
        case MUTATION_EPOCH: {
            sqlite3_stmt *statement = s_statement (self, S_EPOCH_PUT);
            sqlite3_bind_int64 (statement, 1, (sqlite3_int64) mutation->u.epoch);
            return s_run (self, statement, "store the epoch");
        }
        case MUTATION_HOST_PUT:
            return s_host_put (self, &mutation->u.host);
        case MUTATION_HOST_STATE:
            return s_host_state (self, mutation);
        case MUTATION_VM_PUT:
            return s_vm_put (self, mutation);
        case MUTATION_VM_DELETE:
            return s_vm_delete (self, mutation);
        case MUTATION_SPEC_PUT:
            return s_spec_put (self, mutation);
        case MUTATION_SPEC_DELETE:
            return s_spec_delete (self, mutation);
        case MUTATION_RULE_PUT:
            return s_rule_put (self, &mutation->u.rule);
        case MUTATION_RULE_DELETE: {
            sqlite3_stmt *statement = s_statement (self, S_RULE_DELETE);
            s_bind_text (statement, 1, mutation->u.rule_name);
            return s_run (self, statement, "delete a rule");
        }
        case MUTATION_OP_PUT:
            return s_op_put (self, &mutation->u.op);
        case MUTATION_DECISION:
            return s_decision_put (self, mutation);
        case MUTATION_PRINCIPAL_PUT:
        case MUTATION_PRINCIPAL_DELETE:
            return s_principal (self, mutation);
        case MUTATION_AUDIT:
            return s_audit (self, mutation);
        case MUTATION_MAY_RUN_PUT:
        case MUTATION_MAY_RUN_DELETE:
            return s_may_run (self, mutation);
        case MUTATION_HOST_EVENT:
            return s_host_event (self, &mutation->u.host_event);
    }
    log_error ("database '%s': unknown mutation kind %d", self->path, (int) mutation->kind);
    return -1;
}

int
store_apply (store_t *self, const mutation_t *mutation)
{
    if (!self->in_batch) {
        if (s_run (self, s_statement (self, S_BEGIN), "begin a batch"))
            return -1;
        self->in_batch = true;
        self->batch_failed = false;
        self->pending = 0;
        self->batch_seq = 0;
    }
    if (mutation->seq > self->batch_seq)
        self->batch_seq = mutation->seq;
    self->pending++;
    if (self->batch_failed)
        return -1;              // the batch is lost anyway; do not write more of it
    if (s_injected_fault (self) || s_write (self, mutation)) {
        self->batch_failed = true;
        return -1;
    }
    return 0;
}

int
store_commit (store_t *self)
{
    if (!self->in_batch)
        return 0;
    self->in_batch = false;
    size_t pending = self->pending;
    self->pending = 0;
    sqlite3_stmt *seq = s_statement (self, S_SEQ_PUT);
    sqlite3_bind_int64 (seq, 1, (sqlite3_int64) self->batch_seq);
    if (!self->batch_failed && !s_injected_fault (self)
    &&  (!self->batch_seq || s_run (self, seq, "record the mutation sequence") == 0)
    &&  s_run (self, s_statement (self, S_COMMIT), "commit a batch") == 0)
        return 0;
    if (sqlite3_get_autocommit (self->db) == 0)
        s_run (self, s_statement (self, S_ROLLBACK), "roll back a failed batch");
    log_error ("database '%s': a batch of %zu changes was rolled back", self->path, pending);
    self->batch_failed = false;
    return -1;
}

size_t
store_pending (const store_t *self)
{
    return self->in_batch? self->pending: 0;
}

void
store_fail_at (store_t *self, int nth)
{
    self->fail_countdown = nth > 0? nth: 0;
}

//  --------------------------------------------------------------------------
//  Reading

uint64_t
store_mutation_seq (store_t *self)
{
    sqlite3_stmt *statement = s_statement (self, S_SEQ_GET);
    uint64_t seq = 0;
    if (sqlite3_step (statement) == SQLITE_ROW)
        seq = (uint64_t) sqlite3_column_int64 (statement, 0);
    sqlite3_reset (statement);
    return seq;
}

uint64_t
store_epoch (store_t *self)
{
    sqlite3_stmt *statement = s_statement (self, S_EPOCH_GET);
    uint64_t epoch = 0;
    if (sqlite3_step (statement) == SQLITE_ROW)
        epoch = (uint64_t) sqlite3_column_int64 (statement, 0);
    sqlite3_reset (statement);
    return epoch;
}

//  A caller's callback, whichever of the three kinds the query feeds.
typedef struct {
    store_host_fn *host_fn;             // for host rows
    store_vm_fn *vm_fn;                 // for vm rows
    store_transition_fn *transition_fn; // for transition rows
    store_spec_fn *spec_fn;             // for spec rows
    store_rule_fn *rule_fn;             // for rule rows
    store_op_fn *op_fn;                 // for operation rows
    store_principal_fn *principal_fn;   // for principal rows
    store_audit_fn *audit_fn;           // for audit rows
    store_may_run_fn *may_run_fn;       // for may-run rows
    store_host_event_fn *host_event_fn; // for host timeline rows
    void *arg;                          // the caller's argument
} s_reader_t;

//  Steps through a query's rows, calling row_fn for each. 0 or -1 (logged).
static int
s_each_row (store_t *self, sqlite3_stmt *statement, const char *what,
            void (*row_fn) (sqlite3_stmt *statement, const s_reader_t *reader),
            const s_reader_t *reader)
{
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
        row_fn (statement, reader);
    sqlite3_reset (statement);
    return rc == SQLITE_DONE? 0: s_fail (self, what);
}

static void
s_host_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    host_record_t host;
    memset (&host, 0, sizeof host);
    s_column_text (statement, 0, host.id, sizeof host.id);
    s_column_text (statement, 1, host.name, sizeof host.name);
    s_column_text (statement, 2, host.boot_id, sizeof host.boot_id);
    s_column_text (statement, 3, host.hypervisor_uri, sizeof host.hypervisor_uri);
    s_column_text (statement, 4, host.agent_version, sizeof host.agent_version);
    host.state = (host_state_t) sqlite3_column_int (statement, 5);
    host.generation = (uint64_t) sqlite3_column_int64 (statement, 6);
    host.capacity.cpus = (uint32_t) sqlite3_column_int64 (statement, 7);
    host.capacity.memory_mib = (uint64_t) sqlite3_column_int64 (statement, 8);
    s_column_text (statement, 9, host.capacity.cpu_model, sizeof host.capacity.cpu_model);
    s_column_text (statement, 10, host.capacity.cpu_flags, sizeof host.capacity.cpu_flags);
    host.capacity.nested = sqlite3_column_int (statement, 11) != 0;
    const unsigned char *numa = sqlite3_column_text (statement, 12);
    s_numa_decode (host.name, numa? (const char *) numa: "[]", &host.capacity);
    host.registered_at = sqlite3_column_int64 (statement, 13);
    host.state_since = sqlite3_column_int64 (statement, 14);
    host.maintenance = sqlite3_column_int (statement, 15) != 0;
    s_column_text (statement, 16, host.migration_uri, sizeof host.migration_uri);
    s_column_text (statement, 17, host.witness_endpoint, sizeof host.witness_endpoint);
    s_column_text (statement, 18, host.watchdog, sizeof host.watchdog);
    s_column_text (statement, 19, host.public_key, sizeof host.public_key);
    reader->host_fn (reader->arg, &host);
}

static void
s_vm_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    vm_record_t vm;
    memset (&vm, 0, sizeof vm);
    s_column_text (statement, 0, vm.uuid, sizeof vm.uuid);
    s_column_text (statement, 1, vm.name, sizeof vm.name);
    s_column_text (statement, 2, vm.host_id, sizeof vm.host_id);
    int state = sqlite3_column_int (statement, 3);
    vm.state = state >= 0 && state < DOMAIN_STATE_COUNT? (domain_state_t) state: DOMAIN_UNKNOWN;
    vm.vcpus = (uint32_t) sqlite3_column_int64 (statement, 4);
    vm.memory_kib = (uint64_t) sqlite3_column_int64 (statement, 5);
    vm.persistent = sqlite3_column_int (statement, 6) != 0;
    vm.updated_at = sqlite3_column_int64 (statement, 7);
    reader->vm_fn (reader->arg, &vm);
}

static void
s_transition_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    transition_t transition;
    memset (&transition, 0, sizeof transition);
    transition.id = sqlite3_column_int64 (statement, 0);
    transition.at = sqlite3_column_int64 (statement, 1);
    s_column_text (statement, 2, transition.entity, sizeof transition.entity);
    s_column_text (statement, 3, transition.entity_id, sizeof transition.entity_id);
    s_column_text (statement, 4, transition.from, sizeof transition.from);
    s_column_text (statement, 5, transition.to, sizeof transition.to);
    s_column_text (statement, 6, transition.detail, sizeof transition.detail);
    reader->transition_fn (reader->arg, &transition);
}

int
store_load_hosts (store_t *self, store_host_fn *fn, void *arg)
{
    s_reader_t reader = { .host_fn = fn, .arg = arg };
    return s_each_row (self, s_statement (self, S_HOST_LOAD), "load hosts", s_host_row,
                       &reader);
}

int
store_load_vms (store_t *self, store_vm_fn *fn, void *arg)
{
    s_reader_t reader = { .vm_fn = fn, .arg = arg };
    return s_each_row (self, s_statement (self, S_VM_LOAD), "load vms", s_vm_row, &reader);
}

int
store_load_transitions (store_t *self, const char *entity_id, int limit,
                        store_transition_fn *fn, void *arg)
{
    sqlite3_stmt *statement = s_statement (self, entity_id? S_TRANSITIONS_OF: S_TRANSITIONS_ALL);
    if (entity_id)
        s_bind_text (statement, 1, entity_id);
    sqlite3_bind_int (statement, 2, limit);
    s_reader_t reader = { .transition_fn = fn, .arg = arg };
    return s_each_row (self, statement, "load history", s_transition_row, &reader);
}

static void
s_spec_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    spec_record_t spec;
    memset (&spec, 0, sizeof spec);
    s_column_text (statement, 0, spec.uuid, sizeof spec.uuid);
    s_column_text (statement, 1, spec.name, sizeof spec.name);
    const unsigned char *xml = sqlite3_column_text (statement, 2);
    spec.want = (vm_want_t) sqlite3_column_int (statement, 3);
    spec.ha = sqlite3_column_int (statement, 4) != 0;
    spec.priority = sqlite3_column_int (statement, 5);
    spec.vcpus = (uint32_t) sqlite3_column_int64 (statement, 6);
    spec.memory_mib = (uint64_t) sqlite3_column_int64 (statement, 7);
    spec.cpu_reserve = (uint32_t) sqlite3_column_int64 (statement, 8);
    spec.mem_reserve_mib = (uint64_t) sqlite3_column_int64 (statement, 9);
    spec.needs_nested = sqlite3_column_int (statement, 10) != 0;
    spec.migratable = sqlite3_column_int (statement, 11) != 0;
    spec.generation = (uint64_t) sqlite3_column_int64 (statement, 12);
    s_column_text (statement, 13, spec.reason, sizeof spec.reason);
    spec.created_at = sqlite3_column_int64 (statement, 14);
    spec.updated_at = sqlite3_column_int64 (statement, 15);
    s_column_text (statement, 16, spec.host_id, sizeof spec.host_id);
    reader->spec_fn (reader->arg, &spec, xml? (const char *) xml: "");
}

static void
s_rule_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    rule_record_t rule;
    memset (&rule, 0, sizeof rule);
    s_column_text (statement, 0, rule.name, sizeof rule.name);
    rule.kind = (rule_kind_t) sqlite3_column_int (statement, 1);
    rule.hard = sqlite3_column_int (statement, 2) != 0;
    rule.positive = sqlite3_column_int (statement, 3) != 0;
    rule.weight = (uint32_t) sqlite3_column_int64 (statement, 4);
    rule.vm_count = s_names_decode ((const char *) sqlite3_column_text (statement, 5), rule.vms);
    rule.host_count = s_names_decode ((const char *) sqlite3_column_text (statement, 6),
                                      rule.hosts);
    rule.created_at = sqlite3_column_int64 (statement, 7);
    reader->rule_fn (reader->arg, &rule);
}

static void
s_op_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    op_record_t op;
    memset (&op, 0, sizeof op);
    op.id = (uint64_t) sqlite3_column_int64 (statement, 0);
    s_column_text (statement, 1, op.vm_uuid, sizeof op.vm_uuid);
    s_column_text (statement, 2, op.vm_name, sizeof op.vm_name);
    const unsigned char *action = sqlite3_column_text (statement, 3);
    for (int a = 0; a < COMMAND_ACTION_COUNT && action; a++)
        if (strcmp ((const char *) action, command_action_name ((command_action_t) a)) == 0)
            op.action = (command_action_t) a;
    s_column_text (statement, 4, op.host_id, sizeof op.host_id);
    s_column_text (statement, 5, op.target_host_id, sizeof op.target_host_id);
    s_column_text (statement, 6, op.state, sizeof op.state);
    s_column_text (statement, 7, op.message, sizeof op.message);
    op.started_at = sqlite3_column_int64 (statement, 8);
    op.finished_at = sqlite3_column_int64 (statement, 9);
    op.host_generation = (uint64_t) sqlite3_column_int64 (statement, 10);
    reader->op_fn (reader->arg, &op);
}

static void
s_may_run_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    may_run_record_t entry;
    memset (&entry, 0, sizeof entry);
    s_column_text (statement, 0, entry.vm_uuid, sizeof entry.vm_uuid);
    s_column_text (statement, 1, entry.host_id, sizeof entry.host_id);
    entry.op_id = (uint64_t) sqlite3_column_int64 (statement, 2);
    entry.host_generation = (uint64_t) sqlite3_column_int64 (statement, 3);
    reader->may_run_fn (reader->arg, &entry);
}

int
store_load_may_run (store_t *self, store_may_run_fn *fn, void *arg)
{
    s_reader_t reader = { .may_run_fn = fn, .arg = arg };
    return s_each_row (self, s_statement (self, S_MAY_RUN_LOAD), "load where vms may run",
                       s_may_run_row, &reader);
}

static void
s_host_event_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    host_event_record_t event;
    memset (&event, 0, sizeof event);
    s_column_text (statement, 0, event.host_id, sizeof event.host_id);
    event.at = sqlite3_column_int64 (statement, 1);
    s_column_text (statement, 2, event.kind, sizeof event.kind);
    s_column_text (statement, 3, event.detail, sizeof event.detail);
    reader->host_event_fn (reader->arg, &event);
}

int
store_load_host_events (store_t *self, int limit, store_host_event_fn *fn, void *arg)
{
    s_reader_t reader = { .host_event_fn = fn, .arg = arg };
    sqlite3_stmt *statement = s_statement (self, S_HOST_EVENT_LOAD);
    sqlite3_bind_int (statement, 1, limit);
    return s_each_row (self, statement, "load the hosts' timelines", s_host_event_row,
                       &reader);
}

int
store_load_specs (store_t *self, store_spec_fn *fn, void *arg)
{
    s_reader_t reader = { .spec_fn = fn, .arg = arg };
    return s_each_row (self, s_statement (self, S_SPEC_LOAD), "load managed vms", s_spec_row,
                       &reader);
}

int
store_load_rules (store_t *self, store_rule_fn *fn, void *arg)
{
    s_reader_t reader = { .rule_fn = fn, .arg = arg };
    return s_each_row (self, s_statement (self, S_RULE_LOAD), "load rules", s_rule_row,
                       &reader);
}

int
store_load_ops (store_t *self, const char *vm_uuid, int limit, store_op_fn *fn, void *arg)
{
    sqlite3_stmt *statement = s_statement (self, S_OPS_OF);
    s_bind_text (statement, 1, vm_uuid);
    sqlite3_bind_int (statement, 2, limit);
    s_reader_t reader = { .op_fn = fn, .arg = arg };
    return s_each_row (self, statement, "load operations", s_op_row, &reader);
}

uint64_t
store_max_op_id (store_t *self)
{
    sqlite3_stmt *statement = s_statement (self, S_OP_MAX);
    uint64_t id = 0;
    if (sqlite3_step (statement) == SQLITE_ROW)
        id = (uint64_t) sqlite3_column_int64 (statement, 0);
    sqlite3_reset (statement);
    return id;
}

int
store_abandon_ops (store_t *self, int64_t wall)
{
    sqlite3_stmt *statement = s_statement (self, S_OPS_ABANDON);
    sqlite3_bind_int64 (statement, 1, wall);
    return s_run (self, statement, "close operations of the previous run");
}

int
store_load_decision (store_t *self, const char *vm_uuid, store_decision_t *out)
{
    memset (out, 0, sizeof *out);
    sqlite3_stmt *statement = s_statement (self, S_DECISION_GET);
    s_bind_text (statement, 1, vm_uuid);
    int rc = sqlite3_step (statement);
    if (rc == SQLITE_ROW) {
        out->at = sqlite3_column_int64 (statement, 0);
        s_column_text (statement, 1, out->host, sizeof out->host);
        s_column_text (statement, 2, out->summary, sizeof out->summary);
        const unsigned char *verdicts = sqlite3_column_text (statement, 3);
        out->verdicts = strdup (verdicts? (const char *) verdicts: "[]");
        sqlite3_reset (statement);
        return out->verdicts? 1: -1;
    }
    sqlite3_reset (statement);
    return rc == SQLITE_DONE? 0: s_fail (self, "load a decision");
}

static void
s_principal_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    principal_record_t principal;
    memset (&principal, 0, sizeof principal);
    principal.kind = (principal_kind_t) sqlite3_column_int (statement, 0);
    s_column_text (statement, 1, principal.name, sizeof principal.name);
    principal.role = (role_t) sqlite3_column_int (statement, 2);
    s_column_text (statement, 3, principal.key, sizeof principal.key);
    principal.created_at = sqlite3_column_int64 (statement, 4);
    reader->principal_fn (reader->arg, &principal);
}

static void
s_audit_row (sqlite3_stmt *statement, const s_reader_t *reader)
{
    store_audit_t row;
    memset (&row, 0, sizeof row);
    row.id = sqlite3_column_int64 (statement, 0);
    row.at = sqlite3_column_int64 (statement, 1);
    s_column_text (statement, 2, row.record.who, sizeof row.record.who);
    s_column_text (statement, 3, row.record.verb, sizeof row.record.verb);
    s_column_text (statement, 4, row.args, sizeof row.args);
    row.record.status = sqlite3_column_int (statement, 5);
    s_column_text (statement, 6, row.record.message, sizeof row.record.message);
    reader->audit_fn (reader->arg, &row);
}

int
store_load_principals (store_t *self, store_principal_fn *fn, void *arg)
{
    s_reader_t reader = { .principal_fn = fn, .arg = arg };
    return s_each_row (self, s_statement (self, S_PRINCIPAL_LOAD), "load keys", s_principal_row,
                       &reader);
}

int
store_load_audit (store_t *self, int64_t since, int limit, store_audit_fn *fn, void *arg)
{
    sqlite3_stmt *statement = s_statement (self, S_AUDIT_SINCE);
    sqlite3_bind_int64 (statement, 1, since);
    sqlite3_bind_int (statement, 2, limit);
    s_reader_t reader = { .audit_fn = fn, .arg = arg };
    return s_each_row (self, statement, "load the audit log", s_audit_row, &reader);
}
