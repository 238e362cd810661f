/* mappings_data: the files of mappings/, embedded in the binary at build
 * time by mappings/embed.cmake (generated .c files in <build>/generated/).
 * Each array holds the file's bytes followed by a NUL; _len excludes the
 * NUL.  Read-only; es_template.c is the reader. */
#ifndef EXPVARBEAT_MAPPINGS_DATA_H
#define EXPVARBEAT_MAPPINGS_DATA_H

#include <stddef.h>

/* mappings/fields.yml: field definitions in libbeat's fields.yml format. */
extern const char mappings_fields_yml[];
extern const size_t mappings_fields_yml_len;

/* mappings/ilm-policy.json: the built-in ILM policy body. */
extern const char mappings_ilm_policy_json[];
extern const size_t mappings_ilm_policy_json_len;

#endif
