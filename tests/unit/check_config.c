#include <check.h>

#include "suites.h"

Suite *
sg_suite_config(void)
{
	return (suite_create("config"));
}
