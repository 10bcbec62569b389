/*
 * report_png_none.c — report_png() for a build without the renderer
 * (viewer/): says so. The real one is report_png.c.
 */
#include <stdio.h>

#include "report_png.h"

int report_png(const char *path, const struct report_process *procs, size_t n, const char *db_path, char *err,
               size_t err_len)
{
    (void)procs;
    (void)n;
    (void)db_path;
    snprintf(err, err_len, "cannot draw %s: this giltrace was built without the renderer (viewer/)", path);
    return -1;
}
