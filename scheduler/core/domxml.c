/*  domxml.c - reading and preparing libvirt domain XML (see domxml.h).

    libxml2 with XML_PARSE_NONET (no network), no entity expansion and errors collected into
    our message instead of stderr. Owns nothing between calls.
*/
#include "domxml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static int
s_fail (char *err, size_t err_size, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (err, err_size, fmt, args);
    va_end (args);
    return -1;
}

//  Parses xml into a document whose root is <domain>; NULL with the reason in err.
static xmlDocPtr
s_read (const char *xml, char *err, size_t err_size)
{
    xmlParserCtxtPtr context = xmlNewParserCtxt ();
    if (!context) {
        s_fail (err, err_size, "out of memory");
        return NULL;
    }
    xmlDocPtr doc = xmlCtxtReadMemory (context, xml, (int) strlen (xml), "domain.xml", NULL,
                                       S_PARSE_OPTIONS);
    if (!doc) {
        const xmlError *error = xmlCtxtGetLastError (context);
        char message [256] = "not well-formed";
        if (error && error->message) {
            snprintf (message, sizeof message, "%s", error->message);
            message [strcspn (message, "\n")] = 0;
        }
        s_fail (err, err_size, "domain XML is not valid XML: line %d: %s",
                error? error->line: 0, message);
    }
    xmlFreeParserCtxt (context);
    xmlNodePtr root = doc? xmlDocGetRootElement (doc): NULL;
    if (doc && (!root || xmlStrcmp (root->name, (const xmlChar *) "domain"))) {
        s_fail (err, err_size, "domain XML must have <domain> as its root element, not <%s>",
                root? (const char *) root->name: "nothing");
        xmlFreeDoc (doc);
        return NULL;
    }
    return doc;
}

//  The first direct child of parent named name, or NULL.
static xmlNodePtr
s_child (xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr node = parent->children; node; node = node->next)
        if (node->type == XML_ELEMENT_NODE && !xmlStrcmp (node->name, (const xmlChar *) name))
            return node;
    return NULL;
}

//  The element's text, trimmed, into buf.
static void
s_text (xmlNodePtr node, char *buf, size_t size)
{
    xmlChar *content = xmlNodeGetContent (node);
    const char *text = content? (const char *) content: "";
    while (isspace ((unsigned char) *text))
        text++;
    snprintf (buf, size, "%s", text);
    size_t length = strlen (buf);
    while (length && isspace ((unsigned char) buf [length - 1]))
        buf [--length] = 0;
    xmlFree (content);
}

//  Bytes per unit of libvirt's memory units; 0 for an unknown unit.
static uint64_t
s_unit_bytes (const char *unit)
{
    static const struct { const char *name; uint64_t bytes; } units [] = {
        { "b", 1 }, { "bytes", 1 }, { "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
        { "MB", 1000000 }, { "M", 1 << 20 }, { "MiB", 1 << 20 },
        { "GB", 1000000000 }, { "G", 1 << 30 }, { "GiB", 1 << 30 },
        { "TB", 1000000000000ULL }, { "T", 1ULL << 40 }, { "TiB", 1ULL << 40 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units [0]; i++)
        if (strcmp (unit, units [i].name) == 0)
            return units [i].bytes;
    return 0;
}

static int
s_memory (xmlNodePtr root, domxml_info_t *info, char *err, size_t err_size)
{
    xmlNodePtr memory = s_child (root, "memory");
    if (!memory)
        return s_fail (err, err_size, "domain XML has no <memory> element");
    char text [64], *end;
    s_text (memory, text, sizeof text);
    unsigned long long amount = strtoull (text, &end, 10);
    if (!text [0] || *end || amount == 0)
        return s_fail (err, err_size, "domain XML: <memory> must be a positive number, not '%s'",
                       text);
    xmlChar *unit = xmlGetProp (memory, (const xmlChar *) "unit");
    uint64_t bytes = s_unit_bytes (unit? (const char *) unit: "KiB");
    int rc = 0;
    if (!bytes)
        rc = s_fail (err, err_size, "domain XML: unknown <memory> unit '%s' (use KiB, MiB or "
                     "GiB)", (const char *) unit);
    else
    if (amount > (UINT64_C (1) << 52) / bytes)
        rc = s_fail (err, err_size, "domain XML: <memory> is too large");
    else
        info->memory_mib = (amount * bytes + (1 << 20) - 1) >> 20;
    xmlFree (unit);
    return rc;
}

//  Evaluates a boolean XPath expression on doc.
static bool
s_xpath_true (xmlDocPtr doc, const char *expression)
{
    xmlXPathContextPtr context = xmlXPathNewContext (doc);
    xmlXPathObjectPtr result = context
        ? xmlXPathEvalExpression ((const xmlChar *) expression, context): NULL;
    bool value = result && xmlXPathCastToBoolean (result);
    xmlXPathFreeObject (result);
    xmlXPathFreeContext (context);
    return value;
}

int
domxml_parse (const char *xml, domxml_info_t *info, char *err, size_t err_size)
{
    memset (info, 0, sizeof *info);
    xmlDocPtr doc = s_read (xml, err, err_size);
    if (!doc)
        return -1;
    xmlNodePtr root = xmlDocGetRootElement (doc);
    int rc = 0;
    xmlChar *type = xmlGetProp (root, (const xmlChar *) "type");
    xmlNodePtr name = s_child (root, "name");
    xmlNodePtr uuid = s_child (root, "uuid");
    xmlNodePtr vcpu = s_child (root, "vcpu");
    char text [256], *end;
    if (!type || !*type)
        rc = s_fail (err, err_size, "domain XML: <domain> needs a type attribute "
                     "(type='kvm', or type='qemu' without hardware virtualization)");
    else
        snprintf (info->type, sizeof info->type, "%s", (const char *) type);
    if (rc == 0 && name) {
        s_text (name, text, sizeof text);
        if (!text [0] || strlen (text) >= sizeof info->name)
            rc = s_fail (err, err_size, "domain XML: <name> must be 1 to %zu characters",
                         sizeof info->name - 1);
        else
            snprintf (info->name, sizeof info->name, "%.*s", (int) sizeof info->name - 1, text);
    }
    if (rc == 0 && uuid) {
        s_text (uuid, text, sizeof text);
        if (!wire_uuid_valid (text))
            rc = s_fail (err, err_size, "domain XML: <uuid> '%s' is not a uuid (remove it to "
                         "get one assigned)", text);
        else
            snprintf (info->uuid, sizeof info->uuid, "%.*s", (int) sizeof info->uuid - 1, text);
    }
    if (rc == 0)
        rc = s_memory (root, info, err, err_size);
    if (rc == 0 && !vcpu)
        rc = s_fail (err, err_size, "domain XML has no <vcpu> element");
    if (rc == 0) {
        s_text (vcpu, text, sizeof text);
        unsigned long count = strtoul (text, &end, 10);
        if (!text [0] || *end || count == 0 || count > 4096)
            rc = s_fail (err, err_size, "domain XML: <vcpu> must be 1..4096, not '%s'", text);
        else
            info->vcpus = (uint32_t) count;
    }
    if (rc == 0) {
        info->needs_nested = s_xpath_true (doc,
            "/domain/cpu/feature[(@name='vmx' or @name='svm')"
            " and (@policy='require' or @policy='force')]");
        info->has_host_devices = s_xpath_true (doc, "/domain/devices/hostdev");
    }
    xmlFree (type);
    xmlFreeDoc (doc);
    return rc;
}

//  Sets the text of root's child `element`, adding it after the first child when absent.
static int
s_set_child (xmlNodePtr root, const char *element, const char *value)
{
    xmlNodePtr node = s_child (root, element);
    if (node) {
        xmlNodeSetContent (node, (const xmlChar *) value);
        return 0;
    }
    node = xmlNewNode (NULL, (const xmlChar *) element);
    if (!node)
        return -1;
    xmlNodeSetContent (node, (const xmlChar *) value);
    if (root->children)
        xmlAddPrevSibling (root->children, node);
    else
        xmlAddChild (root, node);
    return 0;
}

char *
domxml_prepare (const char *xml, const char *name, const char *uuid, char *err,
                size_t err_size)
{
    xmlDocPtr doc = s_read (xml, err, err_size);
    if (!doc)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement (doc);
    char *out = NULL;
    xmlChar *buffer = NULL;
    int size = 0;
    if (s_set_child (root, "uuid", uuid) || s_set_child (root, "name", name))
        s_fail (err, err_size, "out of memory");
    else {
        xmlDocDumpMemoryEnc (doc, &buffer, &size, "UTF-8");
        out = buffer? strdup ((const char *) buffer): NULL;
        if (!out)
            s_fail (err, err_size, "out of memory");
    }
    xmlFree (buffer);
    xmlFreeDoc (doc);
    return out;
}

//  --------------------------------------------------------------------------
//  The HA marker

//  True when node is an element of vmsched's per-VM namespace.
static bool
s_ours (xmlNodePtr node)
{
    return node->type == XML_ELEMENT_NODE && node->ns && node->ns->href
        && !xmlStrcmp (node->ns->href, (const xmlChar *) VMSCHED_XMLNS_VM);
}

//  True when node is the marker of an HA VM: <vm xmlns=VMSCHED_XMLNS_VM ha="yes"/>.
static bool
s_is_marker (xmlNodePtr node)
{
    if (!s_ours (node) || xmlStrcmp (node->name, (const xmlChar *) "vm") || node->children)
        return false;
    xmlChar *ha = xmlGetNoNsProp (node, (const xmlChar *) "ha");
    bool yes = ha && !xmlStrcmp (ha, (const xmlChar *) "yes");
    xmlFree (ha);
    return yes && node->properties && !node->properties->next;     // ha, nothing else
}

//  Counts (and with unlink, removes) the elements of our namespace among the children of
//  every <metadata> element at or below node and its siblings, as the fencer looks.
static size_t
s_sweep (xmlNodePtr node, bool unlink, int depth)
{
    size_t found = 0;
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        if (!xmlStrcmp (node->name, (const xmlChar *) "metadata"))
            for (xmlNodePtr child = node->children, next; child; child = next) {
                next = child->next;
                if (!s_ours (child))
                    continue;
                found++;
                if (unlink) {
                    xmlUnlinkNode (child);
                    xmlFreeNode (child);
                }
            }
        if (depth < 64)
            found += s_sweep (node->children, unlink, depth + 1);
    }
    return found;
}

//  True when doc carries the marker as ha says, and nothing else of ours.
static bool
s_marked_right (xmlDocPtr doc, bool ha)
{
    xmlNodePtr root = xmlDocGetRootElement (doc);
    size_t ours = s_sweep (root, false, 0);
    if (!ha)
        return ours == 0;
    xmlNodePtr metadata = s_child (root, "metadata");
    if (ours != 1 || !metadata)
        return false;
    for (xmlNodePtr child = metadata->children; child; child = child->next)
        if (s_is_marker (child))
            return true;
    return false;
}

int
domxml_mark_ha (const char *xml, bool ha, char **out, char *err, size_t err_size)
{
    *out = NULL;
    xmlDocPtr doc = s_read (xml, err, err_size);
    if (!doc)
        return -1;
    if (s_marked_right (doc, ha)) {
        xmlFreeDoc (doc);
        return 0;
    }
    xmlNodePtr root = xmlDocGetRootElement (doc);
    s_sweep (root, true, 0);
    int rc = 1;
    if (ha) {
        xmlNodePtr metadata = s_child (root, "metadata");
        if (!metadata)
            metadata = xmlNewChild (root, NULL, (const xmlChar *) "metadata", NULL);
        xmlNodePtr marker = metadata? xmlNewChild (metadata, NULL, (const xmlChar *) "vm",
                                                   NULL): NULL;
        xmlNsPtr ns = marker? xmlNewNs (marker, (const xmlChar *) VMSCHED_XMLNS_VM, NULL)
                            : NULL;
        if (ns)
            xmlSetNs (marker, ns);
        if (!ns || !xmlSetProp (marker, (const xmlChar *) "ha", (const xmlChar *) "yes"))
            rc = s_fail (err, err_size, "out of memory");
    }
    xmlChar *buffer = NULL;
    int size = 0;
    if (rc == 1) {
        xmlDocDumpMemoryEnc (doc, &buffer, &size, "UTF-8");
        *out = buffer? strdup ((const char *) buffer): NULL;
        if (!*out)
            rc = s_fail (err, err_size, "out of memory");
    }
    xmlFree (buffer);
    xmlFreeDoc (doc);
    return rc;
}
