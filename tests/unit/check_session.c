#include <check.h>

#include "suites.h"

Suite *
sg_suite_session(void)
{
	return (suite_create("session"));
}
