/*
 * The unit test runner: every suite, or the one named by CK_RUN_SUITE.
 * CK_FORK=no runs in one process, for gdb and for the sanitizers.
 */
#include <stdlib.h>

#include <check.h>

#include "suites.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(sg_suite_bq());
	srunner_add_suite(sr, sg_suite_batch());
	srunner_add_suite(sr, sg_suite_ledger());
	srunner_add_suite(sr, sg_suite_tracker());
	srunner_add_suite(sr, sg_suite_session());
	srunner_add_suite(sr, sg_suite_smback());
	srunner_add_suite(sr, sg_suite_config());
	srunner_add_suite(sr, sg_suite_log());
	srunner_add_suite(sr, sg_suite_notify());
	srunner_add_suite(sr, sg_suite_proxyproto());
	srunner_add_suite(sr, sg_suite_addrmatch());
	srunner_add_suite(sr, sg_suite_proxyin());
	srunner_add_suite(sr, sg_suite_front());
	srunner_add_suite(sr, sg_suite_quirks());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
