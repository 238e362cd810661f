/* config_export: `expvarbeat export config`.  Writes a settings tree (from
 * config_load_tree) as YAML, keys sorted as Metricbeat's export prints them,
 * with every secret replaced by "[redacted]": values under secret key names
 * (redact.h: passwords, API keys, tokens, ssl.key, sasl, credential headers,
 * also in Kafka's [{key, value}] header lists) and the userinfo of every
 * URL. */
#ifndef EXPVARBEAT_CONFIG_EXPORT_H
#define EXPVARBEAT_CONFIG_EXPORT_H

#include <stddef.h>
#include <stdio.h>
#include "cfgval.h"

/* 0, or -1 with a message in err. */
int config_export_yaml(const cfgval *root, FILE *out, char *err, size_t errlen);

#endif
