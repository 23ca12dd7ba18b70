/*
 * Kernel extraction for Firecracker: synthetic bzImages (a boot-protocol setup header and a
 * gzip or zstd payload holding a small ELF, made here) come out as that ELF, from a cache that
 * is reused while the source is unchanged; other compressions are refused by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "driver/kernel_image.h"
#include "../driver_test.h"
#include "util/cv_file.h"

#define SETUP_SECTS 3
#define PAYLOAD_OFFSET 0x180 /* from the start of the protected-mode code */

/* An "ELF": the magic, then len bytes that compress but not to nothing. */
static GBytes *
make_elf(size_t len, guint32 seed)
{
    unsigned char *p = g_malloc(len);
    GRand *rand = g_rand_new_with_seed(seed);
    memcpy(p,
           "\x7f"
           "ELF\x02\x01\x01",
           7);
    for (size_t i = 7; i < len; i++)
        p[i] = (i / 64) % 3 == 0 ? (unsigned char)g_rand_int(rand) : (unsigned char)(i & 0x3f);
    g_rand_free(rand);
    return g_bytes_new_take(p, len);
}

static GBytes *
compress_gzip(GBytes *in)
{
    g_autoptr(GZlibCompressor) comp = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
    g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable();
    g_autoptr(GOutputStream) out = g_converter_output_stream_new(mem, G_CONVERTER(comp));
    gsize len = 0;
    const void *data = g_bytes_get_data(in, &len);
    g_assert(g_output_stream_write_all(out, data, len, NULL, NULL, NULL));
    g_assert(g_output_stream_close(out, NULL, NULL));
    return g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(mem));
}

/* zstd as the kernel build makes it: one frame, then the uncompressed size (le32). */
static GBytes *
compress_zstd(GBytes *in)
{
    gsize len = 0;
    const void *data = g_bytes_get_data(in, &len);
    size_t cap = ZSTD_compressBound(len) + 4;
    unsigned char *out = g_malloc(cap);
    size_t n = ZSTD_compress(out, cap, data, len, 19);
    g_assert(!ZSTD_isError(n));
    for (int i = 0; i < 4; i++)
        out[n + i] = (unsigned char)(len >> (8 * i));
    return g_bytes_new_take(out, n + 4);
}

static void
put_le32(unsigned char *p, guint32 v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A bzImage at path: setup sectors with the 2.15 header, then payload inside the pm code. */
static void
write_bzimage(const char *path, GBytes *payload, guint16 version)
{
    gsize plen = 0;
    const unsigned char *pdata = g_bytes_get_data(payload, &plen);
    size_t pm_start = (SETUP_SECTS + 1) * 512;
    size_t total = pm_start + PAYLOAD_OFFSET + plen + 100; /* some code after the payload */
    g_autofree unsigned char *img = g_malloc0(total);
    img[0x1f1] = SETUP_SECTS;
    img[0x1fe] = 0x55;
    img[0x1ff] = 0xaa;
    memcpy(img + 0x202, "HdrS", 4);
    img[0x206] = (unsigned char)(version & 0xff);
    img[0x207] = (unsigned char)(version >> 8);
    put_le32(img + 0x248, PAYLOAD_OFFSET);
    put_le32(img + 0x24c, (guint32)plen);
    memcpy(img + pm_start + PAYLOAD_OFFSET, pdata, plen);
    memset(img + pm_start + PAYLOAD_OFFSET + plen, 0xcc, 100);
    g_assert(g_file_set_contents(path, (const char *)img, (gssize)total, NULL));
}

static bool
file_equals(const char *path, GBytes *want)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL))
        return false;
    gsize wlen = 0;
    const void *w = g_bytes_get_data(want, &wlen);
    return len == wlen && memcmp(data, w, len) == 0;
}

static void
test_elf_as_is(const char *dir)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(GBytes) elf = make_elf(4096, 1);
    g_autofree char *path = g_build_filename(dir, "vmlinux", NULL);
    g_autofree char *cache = g_build_filename(dir, "cache-elf", NULL);
    g_assert(g_file_set_contents(path, g_bytes_get_data(elf, NULL), 4096, NULL));
    g_autofree char *got = kernel_image_resolve(path, cache, &err);
    CHECK_OK(got != NULL, err);
    CHECK(got && strcmp(got, path) == 0);
    CHECK(access(cache, F_OK) < 0); /* nothing to cache */
}

/* One compression end to end: extract, reuse, re-extract after a change, repair the cache. */
static void
test_extract(const char *dir, const char *name, GBytes *(*compress)(GBytes *))
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *cache = g_build_filename(dir, "cache", name, NULL); /* made on demand */
    g_autoptr(GBytes) elf = make_elf(700 * 1024, 2); /* more than one read chunk */
    g_autoptr(GBytes) payload = compress(elf);
    write_bzimage(path, payload, 0x020f);

    g_autofree char *first = kernel_image_resolve(path, cache, &err);
    CHECK_OK(first != NULL, err);
    if (!first)
        return;
    CHECK(g_str_has_prefix(first, cache));
    CHECK(file_equals(first, elf));
    CHECK(test_dir_count(cache) == 1); /* no temporary file left */

    /* unchanged source: the same file, not written again */
    struct stat st1, st2;
    CHECK(stat(first, &st1) == 0);
    g_usleep(20000);
    g_autofree char *second = kernel_image_resolve(path, cache, &err);
    CHECK_OK(second != NULL, err);
    CHECK(second && strcmp(first, second) == 0);
    CHECK(stat(first, &st2) == 0);
    CHECK(st1.st_ino == st2.st_ino && st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
          st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);

    /* a new kernel at the same path: extracted again, to a new entry */
    g_autoptr(GBytes) elf2 = make_elf(300 * 1024, 3);
    g_autoptr(GBytes) payload2 = compress(elf2);
    write_bzimage(path, payload2, 0x020f);
    struct timespec ts[2] = {{.tv_sec = 1700000000, .tv_nsec = 5},
                             {.tv_sec = 1700000000, .tv_nsec = 5}};
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
    g_autofree char *third = kernel_image_resolve(path, cache, &err);
    CHECK_OK(third != NULL, err);
    CHECK(third && strcmp(third, first) != 0);
    CHECK(third && file_equals(third, elf2));

    /* same content, touched: the mtime is part of the key */
    struct timespec ts2[2] = {{.tv_sec = 1700000000, .tv_nsec = 6},
                              {.tv_sec = 1700000000, .tv_nsec = 6}};
    CHECK(utimensat(AT_FDCWD, path, ts2, 0) == 0);
    g_autofree char *fourth = kernel_image_resolve(path, cache, &err);
    CHECK_OK(fourth != NULL, err);
    CHECK(fourth && third && strcmp(fourth, third) != 0 && file_equals(fourth, elf2));

    /* a damaged cache entry is not trusted */
    if (fourth) {
        g_assert(g_file_set_contents(fourth, "garbage", -1, NULL));
        g_autofree char *fifth = kernel_image_resolve(path, cache, &err);
        CHECK_OK(fifth != NULL, err);
        CHECK(fifth && strcmp(fifth, fourth) == 0 && file_equals(fifth, elf2));
    }
}

static void
test_refusals(const char *dir)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *path = g_build_filename(dir, "vmlinuz-bad", NULL);
    g_autofree char *cache = g_build_filename(dir, "cache-bad", NULL);
    g_autofree char *want = NULL;

    /* xz, lz4: named in the refusal */
    g_autoptr(GBytes) xz = g_bytes_new_static("\xfd"
                                              "7zXZ\0\0\x04\xe6\xd6\xb4\x46 and more",
                                              20);
    write_bzimage(path, xz, 0x020f);
    CHECK(kernel_image_resolve(path, cache, &err) == NULL);
    want = g_strdup_printf("unsupported configuration: kernel '%s' is compressed with xz, which "
                           "Cocoon cannot extract for firecracker (use an ELF vmlinux, or a "
                           "bzImage compressed with gzip or zstd)",
                           path);
    CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED, want);
    g_autoptr(GBytes) lz4 = g_bytes_new_static("\x02\x21\x4c\x18 lz4 legacy frame", 21);
    write_bzimage(path, lz4, 0x020f);
    CHECK(kernel_image_resolve(path, cache, &err) == NULL);
    CHECK(err && strstr(err->message, "is compressed with lz4,"));
    g_clear_pointer(&err, cv_error_free);

    /* a gzip payload that is not an ELF */
    g_autoptr(GBytes) text = g_bytes_new_static("just some text, no kernel", 25);
    g_autoptr(GBytes) gz_text = compress_gzip(text);
    write_bzimage(path, gz_text, 0x020f);
    CHECK(kernel_image_resolve(path, cache, &err) == NULL);
    g_free(want);
    want = g_strdup_printf("unsupported configuration: kernel '%s': its gzip payload is not an "
                           "ELF image",
                           path);
    CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED, want);
    CHECK(test_dir_count(cache) == 0);

    /* truncated payloads: an error, no partial cache entry */
    g_autoptr(GBytes) elf = make_elf(200 * 1024, 4);
    GBytes *(*compressors[])(GBytes *) = {compress_gzip, compress_zstd};
    const char *names[] = {"gzip", "zstd"};
    for (size_t i = 0; i < G_N_ELEMENTS(compressors); i++) {
        g_autoptr(GBytes) full = compressors[i](elf);
        g_autoptr(GBytes) half = g_bytes_new_from_bytes(full, 0, g_bytes_get_size(full) / 2);
        write_bzimage(path, half, 0x020f);
        CHECK(kernel_image_resolve(path, cache, &err) == NULL);
        g_autofree char *w = g_strdup_printf("unsupported configuration: kernel '%s': the %s "
                                             "payload is truncated",
                                             path, names[i]);
        CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED, w);
        CHECK(test_dir_count(cache) == 0);
    }

    /* old boot protocol: no payload fields */
    g_autoptr(GBytes) gz = compress_gzip(elf);
    write_bzimage(path, gz, 0x0206);
    CHECK(kernel_image_resolve(path, cache, &err) == NULL);
    CHECK(err && err->code == VIR_ERR_CONFIG_UNSUPPORTED && strstr(err->message, "2.06"));
    g_clear_pointer(&err, cv_error_free);

    /* neither ELF nor bzImage */
    g_assert(g_file_set_contents(path, "#!/bin/sh\necho not a kernel\n", -1, NULL));
    CHECK(kernel_image_resolve(path, cache, &err) == NULL);
    g_free(want);
    want = g_strdup_printf("unsupported configuration: kernel '%s' is neither an ELF vmlinux nor "
                           "a bzImage",
                           path);
    CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED, want);

    /* missing file */
    g_autofree char *missing = g_build_filename(dir, "no-such-kernel", NULL);
    CHECK(kernel_image_resolve(missing, cache, &err) == NULL);
    CHECK(err && err->sys_errno == ENOENT && strstr(err->message, missing));
    g_clear_pointer(&err, cv_error_free);
}

/* A FIFO named as the kernel is refused at once: the open used to wait for a writer forever
 * (found by tests/hostile/test_xml_hostile.py). */
static void
test_fifo(const char *dir)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *path = g_build_filename(dir, "fifo", NULL);
    g_autofree char *cache = g_build_filename(dir, "cache-fifo", NULL);
    g_assert(mkfifo(path, 0600) == 0);
    g_autofree char *want = g_strdup_printf("unsupported configuration: kernel '%s' is not a "
                                            "regular file", path);
    g_autofree char *got = kernel_image_resolve(path, cache, &err);
    CHECK(got == NULL);
    CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED, want);
}

int
main(void)
{
    g_autofree char *dir = g_dir_make_tmp("cocoon-kernel-XXXXXX", NULL);
    g_assert(dir);

    test_elf_as_is(dir);
    test_extract(dir, "vmlinuz-gzip", compress_gzip);
    test_extract(dir, "vmlinuz-zstd", compress_zstd);
    test_refusals(dir);
    test_fifo(dir);

    if (failures) {
        fprintf(stderr, "%d check(s) failed (files kept in %s)\n", failures, dir);
        return EXIT_FAILURE;
    }
    g_autoptr(CvError) err = NULL;
    CHECK_OK(cv_dir_remove_tree_at(AT_FDCWD, dir, &err) == 0, err);
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
