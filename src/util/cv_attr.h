#pragma once

/* Compiler attributes shared by gcc and clang builds (the fuzz build is clang's). */

/* printf-style checking: gcc knows glibc's formats as gnu_printf, clang only as printf. */
#if defined(__clang__)
#define CV_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CV_PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#endif
