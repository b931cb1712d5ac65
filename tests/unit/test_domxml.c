/*  test_domxml.c - the HA marker in the domain XML the scheduler sends with START.

    domxml_mark_ha adds, replaces and removes <vm xmlns=VMSCHED_XMLNS_VM ha="yes"/> in the
    domain's <metadata> and keeps every other piece of metadata; managed_add_spec applies it
    to every spec (also to XML an older scheduler stored without it), managed_spec_set_ha
    when the flag changes. The contract with the agent is checked against the agent's own
    reader: a marked document written where libvirt keeps a running domain's XML is what
    fencer_scan takes for HA, an unmarked one is not. Results are read back with libxml2
    and XPath, never by comparing strings. Prints one PASS/FAIL line per case;
    `test_domxml CASE...` runs only those cases.
*/
#include "check.h"
#include "domxml.h"
#include "fencer.h"
#include "fixture_files.h"
#include "log.h"
#include "managed.h"
#include "xmlns.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir [64];             // the temporary directory (the fencer's run dir)

//  The domain of the tests: other metadata (an element with attributes, text and a child,
//  and a comment), a description, devices.
static const char *s_domain =
    "<domain type='kvm'>\n"
    "  <name>web-1</name>\n"
    "  <uuid>6b66d1eb-fc72-ed88-4175-aa0eaa706c43</uuid>\n"
    "  <description>the web server</description>\n"
    "  <metadata>\n"
    "    <!-- kept -->\n"
    "    <o:app xmlns:o='urn:example' tier='front'>web<o:owner>ops</o:owner></o:app>\n"
    "  </metadata>\n"
    "  <memory unit='MiB'>512</memory>\n"
    "  <vcpu>1</vcpu>\n"
    "  <devices><disk type='file'><source file='/var/lib/web-1.qcow2'/></disk></devices>\n"
    "</domain>\n";

//  The number value of an XPath expression over xml, with prefixes v (vmsched's namespace)
//  and o (urn:example); -1 when xml is not XML or the expression fails.
static double
s_xpath (const char *xml, const char *expression)
{
    xmlDocPtr doc = xmlReadMemory (xml, (int) strlen (xml), "test.xml", NULL,
                                   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlXPathContextPtr context = doc? xmlXPathNewContext (doc): NULL;
    double value = -1;
    if (context
    &&  xmlXPathRegisterNs (context, BAD_CAST "v", BAD_CAST VMSCHED_XMLNS_VM) == 0
    &&  xmlXPathRegisterNs (context, BAD_CAST "o", BAD_CAST "urn:example") == 0) {
        xmlXPathObjectPtr result = xmlXPathEvalExpression (BAD_CAST expression, context);
        if (result)
            value = xmlXPathCastToNumber (result);
        xmlXPathFreeObject (result);
    }
    xmlXPathFreeContext (context);
    xmlFreeDoc (doc);
    return value;
}

//  The checks every marked document passes: one element of ours in all, the marker, where
//  it belongs; the rest as it was.
static int
s_check_marked (const char *xml)
{
    int failures = 0;
    CHECK (s_xpath (xml, "count(//*[namespace-uri()='" VMSCHED_XMLNS_VM "'])") == 1);
    CHECK (s_xpath (xml, "count(/domain/metadata[1]/v:vm[@ha='yes'])") == 1);
    CHECK (s_xpath (xml, "count(/domain/metadata/v:vm/@*)") == 1);   // ha, nothing else
    CHECK (s_xpath (xml, "count(/domain/metadata)") == 1);
    return failures;
}

//  The other metadata of s_domain, untouched.
static int
s_check_kept (const char *xml)
{
    int failures = 0;
    CHECK (s_xpath (xml, "count(/domain/metadata/o:app[@tier='front'][o:owner='ops'])") == 1);
    CHECK (s_xpath (xml, "count(/domain/metadata/o:app[text()='web'])") == 1);
    CHECK (s_xpath (xml, "count(/domain/metadata/comment())") == 1);
    CHECK (s_xpath (xml, "count(/domain/description[.='the web server'])") == 1);
    CHECK (s_xpath (xml, "count(/domain/devices/disk/source"
                         "[@file='/var/lib/web-1.qcow2'])") == 1);
    CHECK (s_xpath (xml, "count(/domain/name[.='web-1'])") == 1);
    return failures;
}

//  --------------------------------------------------------------------------

//  An HA VM's XML gets the marker, also without <metadata>; marking again changes nothing;
//  the result is still a domain the scheduler accepts.
static int
s_case_adds (void)
{
    int failures = 0;
    char err [256] = "", *out = NULL;
    CHECK (domxml_mark_ha (s_domain, true, &out, err, sizeof err) == 1 && out);
    if (out) {
        failures += s_check_marked (out);
        failures += s_check_kept (out);
        char *again = (char *) "unchanged";
        CHECK (domxml_mark_ha (out, true, &again, err, sizeof err) == 0 && again == NULL);
        domxml_info_t info;
        CHECK (domxml_parse (out, &info, err, sizeof err) == 0 && info.memory_mib == 512);
    }
    free (out);
    //  No <metadata> at all: one is made.
    const char *bare = "<domain type='kvm'><name>b</name><memory>1024</memory><vcpu>1</vcpu>"
                       "</domain>";
    CHECK (domxml_mark_ha (bare, true, &out, err, sizeof err) == 1 && out);
    if (out) {
        failures += s_check_marked (out);
        CHECK (s_xpath (out, "count(/domain/memory[.='1024'])") == 1);
    }
    free (out);
    //  An empty <metadata/> is used, not a second one made.
    const char *empty = "<domain type='kvm'><metadata/><vcpu>1</vcpu></domain>";
    CHECK (domxml_mark_ha (empty, true, &out, err, sizeof err) == 1 && out);
    if (out)
        failures += s_check_marked (out);
    free (out);
    return failures;
}

//  Whatever of ours is there already is replaced by exactly the marker: ha="no", other
//  attributes, other elements of the namespace (any prefix), a marker in a second
//  <metadata> or in one below <devices>, where the fencer would also look.
static int
s_case_replaces (void)
{
    int failures = 0;
    static const char *cases [] = {
        "<domain type='kvm'><metadata><vm xmlns='" VMSCHED_XMLNS_VM "' ha='no'/>"
        "<o:app xmlns:o='urn:example' tier='front'>web<o:owner>ops</o:owner></o:app>"
        "</metadata></domain>",
        "<domain type='kvm'><metadata xmlns:vs='" VMSCHED_XMLNS_VM "'>"
        "<vs:vm ha='yes' priority='3'/><vs:extra/>"
        "<o:app xmlns:o='urn:example' tier='front'>web<o:owner>ops</o:owner></o:app>"
        "</metadata></domain>",
        "<domain type='kvm'><metadata>"
        "<o:app xmlns:o='urn:example' tier='front'>web<o:owner>ops</o:owner></o:app>"
        "</metadata><metadata><vm xmlns='" VMSCHED_XMLNS_VM "' ha='yes'/></metadata>"
        "<devices><metadata><vm xmlns='" VMSCHED_XMLNS_VM "' ha='yes'/></metadata></devices>"
        "</domain>",
        "<domain type='kvm'><metadata><vm xmlns='" VMSCHED_XMLNS_VM "' ha='yes'>"
        "<child/></vm>"
        "<o:app xmlns:o='urn:example' tier='front'>web<o:owner>ops</o:owner></o:app>"
        "</metadata></domain>",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char err [256] = "", *out = NULL;
        CHECK (domxml_mark_ha (cases [i], true, &out, err, sizeof err) == 1 && out);
        if (!out)
            continue;
        int before = failures;
        CHECK (s_xpath (out, "count(//*[namespace-uri()='" VMSCHED_XMLNS_VM "'])") == 1);
        CHECK (s_xpath (out, "count(/domain/metadata[1]/v:vm[@ha='yes'])") == 1);
        CHECK (s_xpath (out, "count(/domain/metadata[1]/v:vm/@*)") == 1);
        CHECK (s_xpath (out, "count(/domain/metadata[1]/v:vm/node())") == 0);
        CHECK (s_xpath (out, "count(/domain/metadata/o:app[@tier='front'][o:owner='ops'])")
               == 1);
        if (failures > before)
            fprintf (stderr, "  case %zu gave:\n%s", i, out);
        free (out);
    }
    return failures;
}

//  A VM that is not HA carries nothing of ours (a marker an operator put into the XML is
//  removed), and an XML that has nothing of ours is left as it is.
static int
s_case_not_ha (void)
{
    int failures = 0;
    char err [256] = "", *out = NULL, *marked = NULL;
    CHECK (domxml_mark_ha (s_domain, false, &out, err, sizeof err) == 0 && out == NULL);
    CHECK (domxml_mark_ha (s_domain, true, &marked, err, sizeof err) == 1 && marked);
    if (marked) {
        CHECK (domxml_mark_ha (marked, false, &out, err, sizeof err) == 1 && out);
        if (out) {
            CHECK (s_xpath (out, "count(//*[namespace-uri()='" VMSCHED_XMLNS_VM "'])") == 0);
            failures += s_check_kept (out);
        }
    }
    free (out);
    free (marked);
    const char *no = "<domain type='kvm'><metadata><vm xmlns='" VMSCHED_XMLNS_VM "' ha='no'/>"
                     "</metadata></domain>";
    CHECK (domxml_mark_ha (no, false, &out, err, sizeof err) == 1 && out);
    if (out)
        CHECK (s_xpath (out, "count(//*[namespace-uri()='" VMSCHED_XMLNS_VM "'])") == 0);
    free (out);
    return failures;
}

//  What cannot be marked is refused with a reason.
static int
s_case_refused (void)
{
    int failures = 0;
    char err [256] = "", *out = (char *) "unchanged";
    CHECK (domxml_mark_ha ("<domain type='kvm'><metadata>", true, &out, err, sizeof err) == -1);
    CHECK (out == NULL && strstr (err, "domain XML is not valid XML"));
    err [0] = 0;
    CHECK (domxml_mark_ha ("<network/>", true, &out, err, sizeof err) == -1);
    CHECK (out == NULL && strstr (err, "must have <domain> as its root element"));
    return failures;
}

//  The agent's reader agrees: written where libvirt keeps a running domain's XML, the
//  marked document is HA to fencer_scan, the unmarked one is not.
static int
s_case_fencer_reads_it (void)
{
    int failures = 0;
    char run [128], cgroup [128], path [256], err [256] = "";
    snprintf (run, sizeof run, "%s/run", s_dir);
    snprintf (cgroup, sizeof cgroup, "%s/cgroup", s_dir);
    char *marked = NULL, *plain = NULL;
    CHECK (domxml_mark_ha (s_domain, true, &marked, err, sizeof err) == 1);
    char *cleared = NULL;
    CHECK (marked && domxml_mark_ha (marked, false, &cleared, err, sizeof err) == 1);
    plain = cleared;
    static const char *names [] = { "ha-vm", "plain-vm" };
    const char *xml [] = { marked, plain };
    CHECK (snprintf (path, sizeof path, "mkdir -p %s %s", run, cgroup) > 0
           && system (path) == 0);
    for (int i = 0; i < 2; i++) {
        snprintf (path, sizeof path, "%s/%s.xml", run, names [i]);
        CHECK (xml [i] && fixture_files_write (path, xml [i]) == 0);
        snprintf (path, sizeof path, "%s/%s.pid", run, names [i]);
        CHECK (fixture_files_writef (path, "%d\n", (int) getpid ()) == 0);
    }
    fencer_config_t config;
    fencer_config_defaults (&config);
    snprintf (config.run_dir, sizeof config.run_dir, "%s", run);
    snprintf (config.cgroup_root, sizeof config.cgroup_root, "%s", cgroup);
    fencer_domain_t found [8];
    size_t count = fencer_scan (&config, found, 8);
    CHECK (count == 2);
    int ha = -1, not_ha = -1;
    for (size_t i = 0; i < count && i < 8; i++) {
        if (strcmp (found [i].name, "ha-vm") == 0)
            ha = found [i].ha;
        if (strcmp (found [i].name, "plain-vm") == 0)
            not_ha = found [i].ha;
    }
    CHECK (ha == 1 && not_ha == 0);
    free (marked);
    free (plain);
    return failures;
}

//  Every spec carries the marker exactly when it is HA, however it was added (also XML an
//  older scheduler stored unmarked, or marked for a VM that is not HA), and when the flag
//  changes; an HA spec whose XML cannot be marked is refused.
static int
s_case_specs (void)
{
    int failures = 0;
    managed_t *managed = managed_new ();
    CHECK (managed != NULL);
    if (!managed)
        return failures;
    spec_record_t record = { .want = VM_WANT_STOPPED, .vcpus = 1, .memory_mib = 512,
                             .generation = 1, .ha = true };
    snprintf (record.name, sizeof record.name, "web-1");
    snprintf (record.uuid, sizeof record.uuid, "6b66d1eb-fc72-ed88-4175-aa0eaa706c43");
    spec_t *ha = managed_add_spec (managed, &record, s_domain);
    CHECK (ha != NULL);
    if (ha) {
        failures += s_check_marked (ha->xml);
        failures += s_check_kept (ha->xml);
    }
    record.ha = false;
    snprintf (record.name, sizeof record.name, "web-2");
    snprintf (record.uuid, sizeof record.uuid, "7b66d1eb-fc72-ed88-4175-aa0eaa706c43");
    spec_t *plain = managed_add_spec (managed, &record, ha? ha->xml: s_domain);
    CHECK (plain != NULL);
    if (plain)
        CHECK (s_xpath (plain->xml, "count(//*[namespace-uri()='" VMSCHED_XMLNS_VM "'])") == 0);
    //  Unchanged XML is kept as given, byte for byte.
    snprintf (record.name, sizeof record.name, "web-3");
    snprintf (record.uuid, sizeof record.uuid, "8b66d1eb-fc72-ed88-4175-aa0eaa706c43");
    spec_t *same = managed_add_spec (managed, &record, s_domain);
    CHECK (same && strcmp (same->xml, s_domain) == 0);
    //  The flag changes with the marker.
    if (plain) {
        CHECK (managed_spec_set_ha (plain, true) == 0 && plain->record.ha);
        failures += s_check_marked (plain->xml);
        CHECK (managed_spec_set_ha (plain, false) == 0 && !plain->record.ha);
        CHECK (s_xpath (plain->xml, "count(//*[namespace-uri()='" VMSCHED_XMLNS_VM "'])") == 0);
    }
    //  An HA VM must never start unmarked: unreadable XML is refused for it, kept otherwise.
    record.ha = true;
    snprintf (record.name, sizeof record.name, "broken-ha");
    snprintf (record.uuid, sizeof record.uuid, "9b66d1eb-fc72-ed88-4175-aa0eaa706c43");
    CHECK (managed_add_spec (managed, &record, "<domain") == NULL);
    CHECK (managed_spec_by_name (managed, "broken-ha") == NULL);
    record.ha = false;
    snprintf (record.name, sizeof record.name, "broken");
    spec_t *broken = managed_add_spec (managed, &record, "<domain");
    CHECK (broken && strcmp (broken->xml, "<domain") == 0);
    if (broken)
        CHECK (managed_spec_set_ha (broken, true) == -1 && !broken->record.ha
               && strcmp (broken->xml, "<domain") == 0);
    managed_destroy (&managed);
    return failures;
}

//  --------------------------------------------------------------------------

static const check_case_t s_cases [] = {
    { "adds", s_case_adds },
    { "replaces", s_case_replaces },
    { "not_ha", s_case_not_ha },
    { "refused", s_case_refused },
    { "fencer_reads_it", s_case_fencer_reads_it },
    { "specs", s_case_specs },
};

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);              // verdicts between the stderr details
    log_init ("test_domxml", getenv ("VMSCHED_TEST_LOG")? LOG_LEVEL_DEBUG: LOG_LEVEL_NONE);
    if (fixture_files_tempdir (s_dir, sizeof s_dir, "domxml")) {
        printf ("FAIL unit/domxml: cannot create a temporary directory\n");
        return 1;
    }
    int failed = CHECK_RUN_ALL ("domxml", s_cases, argc, argv);
    fixture_files_remove_dir (s_dir);
    xmlCleanupParser ();
    return failed? 1: 0;
}
