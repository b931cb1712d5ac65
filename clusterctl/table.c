/*  table.c - aligned text tables and key/value blocks from JSON documents (see table.h).

    Owns nothing beyond one call: cells are formatted into a temporary matrix, measured,
    printed and freed.
*/
#include "table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_CELL_SIZE 256

void
table_format (const json_t *value, table_format_t format, char *buf, size_t size)
{
    if (!value || json_is_null (value)) {
        snprintf (buf, size, "-");
        return;
    }
    double number = json_is_number (value)? json_number_value (value): 0;
    switch (format) {
        case TABLE_MIB:
            if (number >= 10 * 1024)
                snprintf (buf, size, "%.1f GiB", number / 1024);
            else
                snprintf (buf, size, "%.0f MiB", number);
            return;
        case TABLE_WALL_MS: {
            time_t seconds = (time_t) (number / 1000);
            struct tm local;
            char clock [16];
            if (number < 0 || !localtime_r (&seconds, &local)
            ||  !strftime (clock, sizeof clock, "%H:%M:%S", &local))
                snprintf (buf, size, "?");
            else
                snprintf (buf, size, "%s.%03d", clock, (int) ((int64_t) number % 1000));
            return;
        }
        case TABLE_AGE_MS:
        case TABLE_MS:
            if (number < 1000)
                snprintf (buf, size, "%.0f ms", number);
            else
                snprintf (buf, size, "%.1f s", number / 1000);
            return;
        case TABLE_SECONDS:
            snprintf (buf, size, "%.1f s", number);
            return;
        case TABLE_PERCENT:
            snprintf (buf, size, "%.1f", number);
            return;
        case TABLE_YESNO:
            snprintf (buf, size, "%s", json_is_true (value)? "yes": "no");
            return;
        case TABLE_TEXT:
            break;
    }
    if (json_is_string (value))
        snprintf (buf, size, "%s", json_string_value (value));
    else
    if (json_is_integer (value))
        snprintf (buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value (value));
    else
    if (json_is_real (value))
        snprintf (buf, size, "%.2f", json_real_value (value));
    else
    if (json_is_boolean (value))
        snprintf (buf, size, "%s", json_is_true (value)? "true": "false");
    else
        snprintf (buf, size, "?");
}

//  Columns on a terminal: UTF-8 characters, not bytes (continuation bytes do not count).
static size_t
s_width (const char *text)
{
    size_t width = 0;
    for (; *text; text++)
        width += ((unsigned char) *text & 0xC0) != 0x80;
    return width;
}

void
table_print (FILE *out, const table_column_t *columns, size_t count, const json_t *rows)
{
    size_t row_count = json_is_array (rows)? json_array_size (rows): 0;
    char (*cells) [S_CELL_SIZE] = calloc ((row_count + 1) * count, S_CELL_SIZE);
    size_t *width = calloc (count, sizeof *width);
    if (!cells || !width) {
        free (cells);
        free (width);
        fprintf (out, "(out of memory)\n");
        return;
    }
    for (size_t c = 0; c < count; c++)
        snprintf (cells [c], S_CELL_SIZE, "%s", columns [c].header);
    for (size_t r = 0; r < row_count; r++) {
        const json_t *row = json_array_get (rows, r);
        for (size_t c = 0; c < count; c++)
            table_format (json_object_get (row, columns [c].field), columns [c].format,
                          cells [(r + 1) * count + c], S_CELL_SIZE);
    }
    for (size_t i = 0; i < (row_count + 1) * count; i++) {
        size_t length = s_width (cells [i]);
        if (length > width [i % count])
            width [i % count] = length;
    }
    for (size_t r = 0; r <= row_count; r++) {
        for (size_t c = 0; c < count; c++) {
            const char *cell = cells [r * count + c];
            if (c + 1 == count)
                fprintf (out, "%s\n", cell);        // no trailing blanks
            else
                fprintf (out, "%s%*s", cell, (int) (width [c] - s_width (cell) + 2), "");
        }
    }
    if (row_count == 0)
        fprintf (out, "(none)\n");
    free (cells);
    free (width);
}

void
table_print_fields (FILE *out, const table_column_t *fields, size_t count,
                    const json_t *object)
{
    size_t width = 0;
    for (size_t i = 0; i < count; i++)
        if (strlen (fields [i].header) > width)
            width = strlen (fields [i].header);
    for (size_t i = 0; i < count; i++) {
        char cell [8192];          // cpu flags can be long
        table_format (json_object_get (object, fields [i].field), fields [i].format,
                      cell, sizeof cell);
        fprintf (out, "%-*s  %s\n", (int) width, fields [i].header, cell);
    }
}
