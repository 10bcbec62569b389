/*
 * check.h — the assertions of the C unit tests: on failure, print where and
 * what, then exit non-zero (meson counts the test as failed).
 */
#ifndef GILTRACE_TEST_CHECK_H
#define GILTRACE_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                    \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                   \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                             \
    do {                                                                                               \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                \
        if (check_a_ != check_b_) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a,  \
                    #b, check_a_, check_b_);                                                           \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                                \
    do {                                                                                               \
        const char *check_a_ = (a), *check_b_ = (b);                                                   \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__, __LINE__,   \
                    #a, #b, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");           \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

#endif
