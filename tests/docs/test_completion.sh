#!/usr/bin/env bash
# The bash completion of cocoonvirsh, loaded as an interactive shell loads it (after
# bash-completion's own functions when they are installed) and driven through COMP_WORDS /
# COMP_CWORD / COMP_LINE / COMP_POINT as bash does on Tab: commands, options, domain names,
# snapshot names (when the snapshot commands exist), on an embedded root of its own.
set -uo pipefail
SRC=${COCOON_SRCDIR:?}
V=${COCOON_BUILDDIR:?}/tools/virsh/cocoonvirsh
tmp=$(mktemp -d /tmp/cocoon-completion-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
uri="cocoon:///embed?root=$tmp/root"
export COCOON_CONFIG=$tmp/none.conf

[ -r /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
. "$SRC/data/bash-completion/cocoonvirsh"

fails=0
# complete LINE: what Tab offers at the end of LINE (the words split as bash splits them)
complete_line() {
    COMP_LINE=$1
    COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<<"$COMP_LINE"
    [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _cocoonvirsh
    printf '%s\n' "${COMPREPLY[@]}" | sort
}
expect() { # description, line, expected words (newline-separated, sorted)
    local got
    got=$(complete_line "$2")
    if [ "$got" = "$3" ]; then
        echo "ok   $1"
    else
        echo "FAIL $1: '$2' offered:"; printf '%s\n' "$got" | sed 's/^/     | /'
        echo "     expected:"; printf '%s\n' "$3" | sed 's/^/     | /'
        fails=$((fails + 1))
    fi
}

reg=$(complete -p cocoonvirsh 2>&1)
if [ "$reg" = "complete -F _cocoonvirsh cocoonvirsh" ]; then echo "ok   registered"; else
    echo "FAIL registration: $reg"; fails=$((fails + 1)); fi

truncate -s 1M "$tmp/disk.img" "$tmp/vmlinux"
for n in web1 web2 other; do
    sed -e "s/<name>web1</<name>$n</" -e '/<uuid>/d' -e "s|/var/lib/cocoon/rootfs.ext4|$tmp/disk.img|" \
        -e "s|/var/lib/cocoon/vmlinux|$tmp/vmlinux|" "$SRC/tests/cli/data/web1.xml" >"$tmp/$n.xml"
    "$V" -c "$uri" -q define "$tmp/$n.xml" >/dev/null || { echo "FAIL define $n"; exit 1; }
done

expect "commands by prefix" "$V -c $uri sta" "start"
expect "commands after global options" "$V -q -c $uri dom" "$("$V" help | awk '/^    dom/ {print $1}' | sort)"
expect "options of a command" "$V -c $uri start --p" "--paused"
expect "options of a command, all" "$V -c $uri destroy --" "$(printf '%s\n' --domain --graceful | sort)"
expect "domain names" "$V -c $uri start w" "$(printf 'web1\nweb2')"
expect "domain names after --domain" "$V -c $uri dominfo --domain o" "other"
expect "no domain once one is given" "$V -c $uri dominfo web1 --" "--domain"
# readline replaces the word after the last ':' (COMP_WORDBREAKS): bash-completion trims the
# offers to that part, and "cocoon:///s" + Tab becomes cocoon:///session or …/system
if declare -F __ltrim_colon_completions >/dev/null && [[ $COMP_WORDBREAKS == *:* ]]; then
    expect "the connection URIs" "$V -c cocoon:///s" "$(printf '///session\n///system')"
else
    expect "the connection URIs" "$V -c cocoon:///s" "$(printf 'cocoon:///session\ncocoon:///system')"
fi
expect "global options" "$V --re" "--readonly"

if "$V" -c "$uri" help snapshot-create-as >/dev/null 2>&1 && "$V" -c "$uri" help snapshot-list >/dev/null 2>&1; then
    if "$V" -c "$uri" -q snapshot-create-as web1 first >/dev/null 2>&1 &&
        "$V" -c "$uri" -q snapshot-create-as web1 fresh >/dev/null 2>&1; then
        expect "snapshot names" "$V -c $uri snapshot-revert web1 f" "$(printf 'first\nfresh')"
        expect "snapshot names after --snapshotname" "$V -c $uri snapshot-delete web1 --snapshotname fi" "first"
        expect "snapshot-edit's snapshot names" "$V -c $uri snapshot-edit web1 fi" "first"
        expect "snapshot-edit's options" "$V -c $uri snapshot-edit web1 first --r" "--rename"
    else
        echo "FAIL snapshot-create-as of a shut-off domain"; fails=$((fails + 1))
    fi
else
    echo "ok   snapshot names: no snapshot commands in this build yet, not checked"
fi

echo "$fails failed"
[ "$fails" = 0 ]
