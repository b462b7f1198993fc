#include "unit.h"

Suite *suite_session(void)
{
    Suite *s = suite_create("session");
    return s;
}
