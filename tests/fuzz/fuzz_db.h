/*
 * fuzz_db.h — what the database fuzz targets do with a database that opened:
 * read it every way a reader of ours does.
 */
#ifndef GILTRACE_FUZZ_DB_H
#define GILTRACE_FUZZ_DB_H

#include <sqlite3.h>

void fuzz_db_read_everything(sqlite3 *db);

#endif
