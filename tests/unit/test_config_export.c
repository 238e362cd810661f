/* config_export: `export config` prints what the user configured, merged
 * and expanded, and never a secret: every planted credential is absent from
 * the output and a mask stands in its place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_export.h"

static const char CONFIG[] =
    "metricbeat.modules:\n"
    "  - module: golang\n"
    "    metricsets: [expvar, heap]\n"
    "    hosts: ['http://scrapeuser:PLANT-url-pw@127.0.0.1:6060', "
    "'PLANT-bare:PLANT-bare-pw@127.0.0.1:6061']\n"
    "    expvar.namespace: app\n"
    "    username: scrapeuser\n"
    "    password: PLANT-module-pw\n"
    "    headers: {Authorization: 'Bearer PLANT-bearer', X-Team: payments}\n"
    "    ssl.key: PLANT-ssl-key-path\n"
    "    ssl.key_passphrase: PLANT-passphrase\n"
    "    bearer_token_file: /run/secrets/token\n"
    "output.kafka:\n"
    "  hosts: ['127.0.0.1:9092']\n"
    "  topic: metrics\n"
    "  username: kuser\n"
    "  password: ${EXPORT_TEST_PW}\n"
    "  headers: [{key: X-Api-Key, value: PLANT-kafka-header}, {key: env, value: prod}]\n"
    "setup.kibana.host: 'https://kb:PLANT-kibana-pw@127.0.0.1:5601'\n"
    "setup.kibana.api_key: 'PLANT-id:PLANT-key'\n"
    "name: '0600'\n"
    "tags: [web, 'yes']\n";

static char *export_text(const char *yaml, const char **overrides, size_t n_overrides)
{
    char path[] = "/tmp/test_config_export.XXXXXX", err[512] = "";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    fchmod(fd, 0600);
    close(fd);
    const char *files[] = {path};
    config_opts o = {
        .files = files, .n_files = 1, .overrides = overrides, .n_overrides = n_overrides};
    cfgval *tree = config_load_tree(&o, err, sizeof err);
    unlink(path);
    if (!tree)
        fail_msg("load: %s", err);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(config_export_yaml(tree, out, err, sizeof err), 0);
    fclose(out);
    cfgval_free(tree);
    return text;
}

static void test_no_secret_survives(void **state)
{
    (void)state;
    setenv("EXPORT_TEST_PW", "PLANT-env-pw", 1);
    const char *over[] = {"output.kafka.sasl.mechanism=SCRAM-SHA-512"};
    char *text = export_text(CONFIG, over, 1);
    if (strstr(text, "PLANT"))
        fail_msg("a secret was printed:\n%s", text);
    const char *expected[] = {
        "password: '[redacted]'",
        "- 'http://[redacted]@127.0.0.1:6060'",
        "- '[redacted]@127.0.0.1:6061'",
        "Authorization: '[redacted]'",
        "X-Team: payments",
        "key: '[redacted]'",
        "key_passphrase: '[redacted]'",
        "bearer_token_file: /run/secrets/token",
        "- key: X-Api-Key\n      value: '[redacted]'",
        "- key: env\n      value: prod",
        "host: 'https://[redacted]@127.0.0.1:5601'",
        "api_key: '[redacted]'",
        "mechanism: SCRAM-SHA-512",
        "username: scrapeuser",
        "name: '0600'", /* a quoted number stays a string */
        "- 'yes'",
        "topic: metrics",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!strstr(text, expected[i]))
            fail_msg("missing \"%s\" in:\n%s", expected[i], text);
    free(text);
    unsetenv("EXPORT_TEST_PW");
}

static void test_keys_sorted_and_overrides_merged(void **state)
{
    (void)state;
    const char *over[] = {"output.console.pretty=true", "logging.level=debug"};
    char *text = export_text("output.console: {pretty: false}\n"
                             "metricbeat.modules: [{module: golang, hosts: [h:1], "
                             "expvar.namespace: n}]\n",
                             over, 2);
    assert_string_equal(text, "logging:\n"
                              "  level: debug\n"
                              "metricbeat:\n"
                              "  modules:\n"
                              "  - expvar:\n"
                              "      namespace: n\n"
                              "    hosts:\n"
                              "    - h:1\n"
                              "    module: golang\n"
                              "output:\n"
                              "  console:\n"
                              "    pretty: true\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_secret_survives),
        cmocka_unit_test(test_keys_sorted_and_overrides_merged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
