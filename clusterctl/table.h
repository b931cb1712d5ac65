/*  table.h - aligned text tables and key/value blocks from JSON documents (clusterctl).

    A table is described by columns (header, field of each JSON object, how to format it);
    table_print renders an array of objects with every column as wide as its widest cell.
    Formatting never fails: a missing or null field shows as "-".
*/
#ifndef VMSCHED_TABLE_H
#define VMSCHED_TABLE_H

#include <jansson.h>
#include <stdio.h>

typedef enum {
    TABLE_TEXT,         // string, number or bool as is
    TABLE_MIB,          // integer MiB, shown as "4096 MiB" / "32.0 GiB"
    TABLE_AGE_MS,       // integer milliseconds ago, shown as "120 ms" / "3.2 s"
    TABLE_SECONDS,      // real seconds, shown with one decimal
    TABLE_PERCENT,      // a real percentage, shown with one decimal ("37.5")
    TABLE_YESNO,        // bool, shown as yes / no
    TABLE_MS,           // integer milliseconds (a duration), shown as TABLE_AGE_MS
    TABLE_WALL_MS       // integer wall-clock milliseconds, shown as local "13:09:55.480"
} table_format_t;

typedef struct {
    const char *header;         // column title (upper case by convention)
    const char *field;          // key in each row object
    table_format_t format;      // how to show the value
} table_column_t;

//  Format one JSON value (may be NULL) into buf as the format says.
void table_format (const json_t *value, table_format_t format, char *buf, size_t size);

//  Print rows (a JSON array of objects) under columns (count entries), aligned, to out.
//  An empty array prints the headers and "(none)".
void table_print (FILE *out, const table_column_t *columns, size_t count, const json_t *rows);

//  Print "label: value" lines for the given fields of one object, labels aligned.
void table_print_fields (FILE *out, const table_column_t *fields, size_t count,
                         const json_t *object);

#endif
