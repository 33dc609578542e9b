#include <check.h>

#include "suites.h"

Suite *
sg_suite_tracker(void)
{
	return (suite_create("tracker"));
}
