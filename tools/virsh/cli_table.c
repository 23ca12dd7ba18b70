/* cocoonvirsh: tables in virsh's layout (list). */

#include <stdarg.h>
#include <string.h>

#include "cli.h"

struct CliTable {
    GPtrArray *header; /* char * */
    GPtrArray *rows;   /* GPtrArray of char * */
};

static GPtrArray *table_cells(const char *first, va_list ap)
{
    GPtrArray *cells = g_ptr_array_new_with_free_func(g_free);

    for (const char *c = first; c; c = va_arg(ap, const char *))
        g_ptr_array_add(cells, g_strdup(c));
    return cells;
}

CliTable *cli_table_new(const char *first, ...)
{
    CliTable *table = g_new0(CliTable, 1);
    va_list ap;

    va_start(ap, first);
    table->header = table_cells(first, ap);
    va_end(ap);
    table->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    return table;
}

void cli_table_add_row(CliTable *table, const char *first, ...)
{
    va_list ap;

    va_start(ap, first);
    g_ptr_array_add(table->rows, table_cells(first, ap));
    va_end(ap);
}

/* Columns a cell takes on a terminal (characters, not bytes). */
static size_t table_cell_width(const char *s)
{
    return g_utf8_validate(s, -1, NULL) ? (size_t)g_utf8_strlen(s, -1) : strlen(s);
}

static void table_widths_add(size_t *widths, guint ncols, GPtrArray *cells)
{
    for (guint i = 0; i < ncols && i < cells->len; i++)
        widths[i] = MAX(widths[i], table_cell_width(g_ptr_array_index(cells, i)));
}

static void table_line_print(const size_t *widths, guint ncols, GPtrArray *cells)
{
    g_autoptr(GString) line = g_string_new(" ");

    for (guint i = 0; i < ncols; i++) {
        const char *cell = i < cells->len ? g_ptr_array_index(cells, i) : "";

        if (i > 0)
            g_string_append(line, "   ");
        g_string_append(line, cell);
        /* the last column is not padded: no trailing blanks after the longest cell */
        if (i + 1 < ncols) {
            for (size_t w = table_cell_width(cell); w < widths[i]; w++)
                g_string_append_c(line, ' ');
        }
    }
    printf("%s\n", line->str);
}

void cli_table_print(const CliTable *table, bool header)
{
    guint ncols = table->header->len;
    g_autofree size_t *widths = g_new0(size_t, ncols);

    if (header)
        table_widths_add(widths, ncols, table->header);
    for (guint r = 0; r < table->rows->len; r++)
        table_widths_add(widths, ncols, g_ptr_array_index(table->rows, r));
    if (header) {
        size_t dashes = 0;

        table_line_print(widths, ncols, table->header);
        for (guint i = 0; i < ncols; i++)
            dashes += widths[i] + 3;
        for (size_t i = 0; i < dashes; i++)
            putchar('-');
        putchar('\n');
    }
    for (guint r = 0; r < table->rows->len; r++)
        table_line_print(widths, ncols, g_ptr_array_index(table->rows, r));
}

void cli_table_free(CliTable *table)
{
    if (!table)
        return;
    g_ptr_array_unref(table->header);
    g_ptr_array_unref(table->rows);
    g_free(table);
}
