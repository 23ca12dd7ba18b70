/* Unit test of the console ring: scrollback semantics and queue segments. */
#include "console/console_ring.h"

#include <string.h>

static GString *
ring_contents(const ConsoleRing *ring)
{
    struct iovec iov[2];
    int n = console_ring_peek(ring, iov);
    GString *s = g_string_new(NULL);
    for (int i = 0; i < n; i++)
        g_string_append_len(s, iov[i].iov_base, iov[i].iov_len);
    return s;
}

/* Random appends and consumes against a reference: always the last ≤ capacity bytes kept. */
static void
ring_check_random(gsize capacity, gsize max_chunk, int rounds)
{
    g_autoptr(ConsoleRing) ring = console_ring_new(capacity);
    g_autoptr(GString) ref = g_string_new(NULL);
    g_autoptr(GRand) rand = g_rand_new_with_seed(7);
    g_autofree char *chunk = g_malloc(max_chunk);

    for (int i = 0; i < rounds; i++) {
        int len = g_rand_int_range(rand, 0, max_chunk);
        for (int j = 0; j < len; j++)
            chunk[j] = 'a' + g_rand_int_range(rand, 0, 26);
        console_ring_append(ring, chunk, len);
        g_string_append_len(ref, chunk, len);
        if (ref->len > capacity)
            g_string_erase(ref, 0, ref->len - capacity);
        if (g_rand_boolean(rand) && ref->len > 0) {
            gsize n = g_rand_int_range(rand, 0, ref->len + 1);
            console_ring_consume(ring, n);
            g_string_erase(ref, 0, n);
        }
        g_autoptr(GString) got = ring_contents(ring);
        g_assert_cmpuint(got->len, ==, ref->len);
        g_assert_cmpmem(got->str, got->len, ref->str, ref->len);
        g_assert_cmpuint(console_ring_length(ring), ==, ref->len);
        g_assert_cmpuint(console_ring_space(ring), ==, capacity - ref->len);
    }
}

static void
test_ring_scrollback(void)
{
    ring_check_random(8, 20, 2000);
}

/* Large rings start small and grow: order must survive each reallocation. */
static void
test_ring_grow(void)
{
    ring_check_random(300000, 100000, 300);
}

static void
test_ring_copy(void)
{
    g_autoptr(ConsoleRing) a = console_ring_new(4);
    g_autoptr(ConsoleRing) b = console_ring_new(16);
    console_ring_append(a, "abcdef", 6); /* keeps "cdef", wrapped or not */
    console_ring_append(b, "x", 1);
    console_ring_copy_to(a, b);
    g_autoptr(GString) got = ring_contents(b);
    g_assert_cmpstr(got->str, ==, "xcdef");
    console_ring_clear(b);
    g_assert_cmpuint(console_ring_length(b), ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/console/ring/scrollback", test_ring_scrollback);
    g_test_add_func("/console/ring/grow", test_ring_grow);
    g_test_add_func("/console/ring/copy", test_ring_copy);
    return g_test_run();
}
