#ifndef SG_TEST_SUITES_H
#define SG_TEST_SUITES_H

#include <check.h>

/* One suite per module, each in tests/unit/check_<module>.c. */
Suite *sg_suite_bq(void);
Suite *sg_suite_batch(void);
Suite *sg_suite_ledger(void);
Suite *sg_suite_tracker(void);
Suite *sg_suite_session(void);
Suite *sg_suite_smback(void);
Suite *sg_suite_config(void);
Suite *sg_suite_log(void);
Suite *sg_suite_notify(void);
Suite *sg_suite_proxyproto(void);
Suite *sg_suite_addrmatch(void);
Suite *sg_suite_proxyin(void);
Suite *sg_suite_front(void);
Suite *sg_suite_quirks(void);

#endif /* !SG_TEST_SUITES_H */
