/*
 * gilview_tiles.c — `gilview tiles trace.db -o DIR [--max-zoom Z] [--jobs N]`:
 * the PNG tile pyramid and its index.html (tiles.h).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gilview.h"
#include "tiles.h"

static void usage(void)
{
    printf("usage: gilview tiles trace.db -o DIR [--max-zoom Z] [--jobs N]\n"
           "Writes DIR/z/x_y.png, 256x256 palette PNGs of the timeline (zoom scales time only;\n"
           "zoom z is 2^z tiles across the trace; a tile that adds no detail to its parent is\n"
           "not written), and DIR/index.html to browse them offline.\n"
           "  -o, --output DIR   where to write: created if missing (mode 0700, files 0600:\n"
           "                     chmod -R go+rX DIR to publish it); a DIR that holds files\n"
           "                     only with --force; never a symlink\n"
           "  -f, --force        write over the files of an existing DIR (an earlier tile set)\n"
           "  --max-zoom Z       deepest zoom level (default: up to 2^14 tiles across, >= 1 ns per pixel)\n"
           "  -j, --jobs N       threads (default: one per CPU)\n"
           "  -q, --quiet        no progress bar or summary\n");
}

/* The output rules for a tile set: DIR absent, or an empty folder, or with
 * `force` a folder that holds files; never a symlink or anything else.
 * Returns 0, or -1 after saying why. */
static int check_output_dir(const char *dir, bool force)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        gv_warn("cannot write tiles to %s: %s", dir, strerror(errno));
        return -1;
    }
    if (S_ISLNK(st.st_mode)) {
        gv_warn("%s is a symlink; give the folder itself", dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        gv_warn("%s exists and is not a folder; give -o a folder for the tiles", dir);
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        gv_warn("cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    bool empty = true;
    struct dirent *e;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty && !force) {
        gv_warn("%s already holds files; pass --force to write the tiles over them or choose another folder", dir);
        return -1;
    }
    return 0;
}

int gv_cmd_tiles(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"max-zoom", required_argument, NULL, 'z'},
                                         {"jobs", required_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct tiles_options o = {.max_zoom = -1, .png = png_tile_default};
    bool quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:j:qfh", opts, NULL)) != -1) {
        char *end;
        long v;
        switch (c) {
        case 'o':
            o.dir = optarg;
            break;
        case 'z':
            v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0 || v > 30)
                return gv_usage_error("tiles", "--max-zoom wants 0 to 30");
            o.max_zoom = (int)v;
            break;
        case 'j':
            v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 256)
                return gv_usage_error("tiles", "--jobs wants 1 to 256");
            o.jobs = (int)v;
            break;
        case 'q':
            quiet = true;
            break;
        case 'f':
            o.replace = true;
            break;
        case 'h':
            usage();
            return 0;
        default:
            return gv_usage_error("tiles", "unknown option");
        }
    }
    if (optind != argc - 1)
        return gv_usage_error("tiles", "give exactly one trace.db");
    if (!o.dir)
        return gv_usage_error("tiles", "where to? give -o DIR");
    if (check_output_dir(o.dir, o.replace))
        return 1;
    o.progress = !quiet && isatty(2);
    struct tdb_view *v = gv_open_view(argv[optind]);
    if (!v)
        return 1;
    struct tiles_result res;
    char err[600];
    int rc = tiles_export(v, &o, &res, err, sizeof err);
    if (rc)
        gv_warn("%s", err);
    else if (!quiet) {
        uint64_t tiles = res.written + res.linked;
        printf("gilview: %llu tiles in %s/ (zoom 0-%d; %llu written, %llu identical ones linked, %llu empty and "
               "%llu adding no detail to their parent skipped) in %.2f s, %.0f tiles/s, %.0f bytes per tile; "
               "open %s/index.html\n",
               (unsigned long long)tiles, o.dir, res.geometry.max_zoom, (unsigned long long)res.written,
               (unsigned long long)res.linked, (unsigned long long)res.empty, (unsigned long long)res.skipped,
               res.seconds,
               res.seconds > 0 ? (double)tiles / res.seconds : 0.0,
               res.written ? (double)res.bytes / (double)res.written : 0.0, o.dir);
        if (tdb_view_lane_count(v) == 0)
            gv_warn("%s has no GIL events: every tile is empty", argv[optind]);
    }
    tdb_view_close(v);
    return rc ? 1 : 0;
}
