#include "unit.h"

Suite *suite_oidc(void)
{
    Suite *s = suite_create("oidc");
    return s;
}
