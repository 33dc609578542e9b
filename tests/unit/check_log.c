#include <check.h>

#include "suites.h"

Suite *
sg_suite_log(void)
{
	return (suite_create("log"));
}
