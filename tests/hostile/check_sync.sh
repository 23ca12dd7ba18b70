#!/usr/bin/env bash
# GLib's locks are taken through util/cv_sync.h (so that ThreadSanitizer sees them): no direct
# g_mutex_lock/unlock or g_cond_wait in the sources but there.
cd "${COCOON_SRCDIR:-$(dirname "$0")/../..}" || exit 1
found=$(grep -rnE '\bg_(mutex_lock|mutex_unlock|mutex_trylock|cond_wait|cond_wait_until)\(' \
        src tools | grep -v '^src/util/cv_sync.h:')
if [ -n "$found" ]; then
    echo "FAIL GLib locks taken directly (use cv_mutex_lock & co. of util/cv_sync.h):"
    echo "$found"
    exit 1
fi
echo "ok   every GLib lock goes through util/cv_sync.h"
