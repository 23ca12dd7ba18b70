#pragma once

#include <stdio.h>
#include <stdlib.h>

/* A broken invariant: say which, then abort, so libFuzzer saves the input (it does not catch
 * the SIGTRAP of g_error). */
#define FUZZ_FAIL(...)                                                                         \
    do {                                                                                       \
        fprintf(stderr, "fuzz: " __VA_ARGS__);                                                 \
        fputc('\n', stderr);                                                                   \
        abort();                                                                               \
    } while (0)
