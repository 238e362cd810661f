/* kibana_data: the saved objects of kibana/ (the .ndjson files), embedded in the binary
 * at build time by kibana/embed.cmake (generated .c files in
 * <build>/generated/), in import order: data view first, then each
 * dashboard's file.  Each file's bytes are followed by a NUL; *len excludes
 * the NUL.  Read-only; kibana.c is the reader. */
#ifndef EXPVARBEAT_KIBANA_DATA_H
#define EXPVARBEAT_KIBANA_DATA_H

#include <stddef.h>

typedef struct kibana_file {
    const char *name; /* "overview.ndjson" */
    const char *data;
    const size_t *len; /* a pointer: the length is a variable of another unit */
} kibana_file;

/* kibana_n_files entries, then one of NULLs. */
extern const kibana_file kibana_files[];
extern const size_t kibana_n_files;

#endif
