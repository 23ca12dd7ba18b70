/*
 * archive_tool: the snapshot archive layer on its own, for the tests of tests/snapshot_archive.
 *   archive_tool write DIR DOMAIN SNAPSHOT BACKEND > FILE
 *   archive_tool read STAGING < FILE      (STAGING: an empty directory)
 * Prints "error: …" and exits 1 on failure; read prints "domain snapshot backend" on success.
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/snapshot_archive.h"

int
main(int argc, char **argv)
{
    g_autoptr(CvError) err = NULL;
    if (argc == 6 && strcmp(argv[1], "write") == 0) {
        int dfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
            perror(argv[2]);
            return 1;
        }
        SnapshotArchiveWriteOpts o = { .domain = argv[3], .snapshot = argv[4], .backend = argv[5] };
        /* for trying settings by hand: ARCHIVE_TOOL_LEVEL=N, ARCHIVE_TOOL_THREADS=N */
        if (getenv("ARCHIVE_TOOL_LEVEL"))
            o.level = atoi(getenv("ARCHIVE_TOOL_LEVEL"));
        if (getenv("ARCHIVE_TOOL_THREADS"))
            o.threads = (unsigned int)atoi(getenv("ARCHIVE_TOOL_THREADS"));
        if (snapshot_archive_write(dfd, argv[2], STDOUT_FILENO, &o, &err) < 0) {
            fprintf(stderr, "error: %s\n", err->message);
            return 1;
        }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        int sfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0) {
            perror(argv[2]);
            return 1;
        }
        g_autoptr(SnapshotArchiveInfo) info = NULL;
        if (snapshot_archive_read(STDIN_FILENO, sfd, argv[2], NULL, &info, &err) < 0) {
            fprintf(stderr, "error: %s\n", err->message);
            return 1;
        }
        printf("%s %s %s\n", info->domain, info->snapshot, info->backend);
        return 0;
    }
    fprintf(stderr, "usage: archive_tool write DIR DOMAIN SNAPSHOT BACKEND | read STAGING\n");
    return 2;
}
