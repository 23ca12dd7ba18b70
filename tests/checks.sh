# Sourced by the shell tests: check DESCRIPTION COMMAND… prints ok/FAIL and counts failures in
# $fails; has FILE TEXT succeeds when FILE holds TEXT, else shows the end of FILE.
fails=0
check() {
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
has() {
    grep -qF -- "$2" "$1" && return 0
    echo "     missing in $1: $2"
    sed 's/^/     | /' "$1" | tail -30
    return 1
}
