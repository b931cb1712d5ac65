/*  xmlns.h - the XML namespaces vmsched writes into libvirt domain XML.

    One definition for the scheduler, which puts the element into the domain XML it sends
    with START (scheduler/core/domxml.c), and the agent's fencer, which looks for it in the
    running domain's XML to find the domains it must kill (agent/fencer.c). Header only.
*/
#ifndef VMSCHED_XMLNS_H
#define VMSCHED_XMLNS_H

//  vmsched's per-VM metadata element, a child of the domain's <metadata>:
//  <vm xmlns="https://vmsched.dev/xmlns/vm/1" ha="yes"/> marks an HA VM.
#define VMSCHED_XMLNS_VM "https://vmsched.dev/xmlns/vm/1"

#endif
