/*
 * event_kind.c — event names. See event_kind.h.
 */
#include "event_kind.h"

#include <string.h>

static const char *const names[RING_EV_KIND_MAX + 1] = {
    [RING_EV_ACQUIRE] = "ACQUIRE",
    [RING_EV_RELEASE] = "RELEASE",
    [RING_EV_BUSY] = "BUSY",
    [RING_EV_RETRY] = "RETRY",
    [RING_EV_TIMEOUT] = "TIMEOUT",
    [RING_EV_DROP_REQUEST] = "DROP_REQUEST",
    [RING_EV_FORCED_SWITCH] = "FORCED_SWITCH",
    [RING_EV_GIL_DISABLED] = "GIL_DISABLED",
    [RING_EV_GIL_ENABLED] = "GIL_ENABLED",
};

const char *event_kind_name(unsigned kind)
{
    return event_kind_valid(kind) ? names[kind] : NULL;
}

unsigned event_kind_from_name(const char *name)
{
    for (unsigned k = 1; k <= RING_EV_KIND_MAX; k++)
        if (strcmp(names[k], name) == 0)
            return k;
    return 0;
}
