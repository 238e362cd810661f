/* output: maps the configured output type to its ops table.
 * The core calls output_ops_for() once at start; backends stay private to
 * their own files and are reached only through the returned output_ops, so a
 * new backend means one new case here and nothing else in the core. */
#include "output.h"

const output_ops *output_ops_for(enum output_type t)
{
    switch (t) {
    case OUTPUT_CONSOLE:
        return &out_console_ops;
    case OUTPUT_FILE:
        return &out_file_ops;
    case OUTPUT_ELASTICSEARCH:
        return &out_elasticsearch_ops;
    case OUTPUT_KAFKA:
        return &out_kafka_ops;
    }
    return NULL;
}
