/*  test_scheduler_config.c - the scheduler's configuration: the [ha] profiles and the timing
    inequalities checked at start-up (DESIGN.md §5.4, §5.10).
*/
#include "check.h"
#include "scheduler.h"

//  Parses text over the defaults and checks it: 0, or -1 with err.
static int
s_load (const char *text, scheduler_config_t *config, char *err, size_t err_size)
{
    scheduler_config_defaults (config);
    if (config_parse ("test.conf", text, scheduler_config_keys, config, err, err_size))
        return -1;
    return scheduler_config_check (config, err, err_size);
}

static int
s_case_profiles (void)
{
    int failures = 0;
    char err [512];
    scheduler_config_t config;
    ha_config_t ha;
    CHECK (s_load ("", &config, err, sizeof err) == 0);
    CHECK (scheduler_ha_config (&config, &ha, err, sizeof err) == 0);
    CHECK (ha.renew_ms == 500 && ha.lease_ms == 2000 && ha.fence_ms == 1000
           && ha.watchdog_ms == 3000 && ha.dead_after_ms == 7000 && ha.witnesses == 5);
    CHECK (!ha.allow_unfenced_hosts);
    CHECK (s_load ("[ha]\nprofile = conservative\n", &config, err, sizeof err) == 0);
    CHECK (scheduler_ha_config (&config, &ha, err, sizeof err) == 0);
    CHECK (ha.lease_ms == 5000 && ha.dead_after_ms == 20000);
    CHECK (s_load ("[ha]\nprofile = conservative\nlease_ms = 4000\nallow_unfenced_hosts = yes\n",
                   &config, err, sizeof err) == 0);
    CHECK (scheduler_ha_config (&config, &ha, err, sizeof err) == 0);
    CHECK (ha.lease_ms == 4000 && ha.renew_ms == 1000 && ha.allow_unfenced_hosts);
    CHECK (s_load ("[ha]\nprofile = fast\n", &config, err, sizeof err) == -1);
    CHECK (strstr (err, "profile 'fast'") && strstr (err, "default or conservative"));
    return failures;
}

//  A timing that breaks D >= L + F + W + margin, or D > down_after_ms, is refused with the
//  inequality and the numbers.
static int
s_case_inequalities (void)
{
    int failures = 0;
    char err [512];
    scheduler_config_t config;
    CHECK (s_load ("[ha]\ndead_after_ms = 6000\n", &config, err, sizeof err) == -1);
    CHECK (strstr (err, "dead_after_ms >= lease_ms + fence_ms + watchdog_ms + margin_ms"));
    CHECK (strstr (err, "6000 < 2000 + 1000 + 3000 + 500 = 6500"));
    CHECK (s_load ("[scheduler]\ndown_after_ms = 8000\n", &config, err, sizeof err) == -1);
    CHECK (strstr (err, "dead_after_ms > down_after_ms") && strstr (err, "7000 <= 8000"));
    CHECK (s_load ("[ha]\nrenew_ms = 3000\n", &config, err, sizeof err) == -1);
    CHECK (strstr (err, "renew_ms < lease_ms"));
    CHECK (s_load ("[ha]\nwitnesses = 4\n", &config, err, sizeof err) == -1);
    CHECK (strstr (err, "odd"));
    return failures;
}

int
main (int argc, char **argv)
{
    static const check_case_t cases [] = {
        { "profiles", s_case_profiles },
        { "inequalities", s_case_inequalities },
    };
    return CHECK_RUN_ALL ("scheduler_config", cases, argc, argv)? 1: 0;
}
