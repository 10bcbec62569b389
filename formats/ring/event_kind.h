/*
 * event_kind.h — the names of GIL events (contract: they are the `kind`
 * values of the trace database's events view) and their numbers in rings
 * and storage (enum ring_event_kind in ring.h).
 */
#ifndef GILTRACE_EVENT_KIND_H
#define GILTRACE_EVENT_KIND_H

#include "ring.h"

/* "ACQUIRE", "RELEASE", ...; NULL for a number that is no kind. */
const char *event_kind_name(unsigned kind);

/* The number of a kind name, or 0 if there is no such kind. */
unsigned event_kind_from_name(const char *name);

static inline int event_kind_valid(unsigned kind)
{
    return kind >= 1 && kind <= RING_EV_KIND_MAX;
}

#endif
