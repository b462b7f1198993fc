#include "unit.h"

Suite *suite_util(void)
{
    Suite *s = suite_create("util");
    return s;
}
