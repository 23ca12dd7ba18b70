#!/usr/bin/env bash
# The terminal client (console_terminal) against the real relay and an echoing stand-in VMM.
#   tmux: an interactive session in a real terminal: banner, raw mode (no local echo, the VM's
#         echo comes back), Ctrl+] leaves, the terminal settings are restored (stty -a before and
#         after), also when the client is killed by SIGTERM.
#   pipe: input from a pipe is copied until its end, output shown until idle.
#
#   test_console_terminal.sh tmux|pipe HARNESS RELAY CLIENT
set -euo pipefail
case=$1 harness=$2 relay=$3 client=$4

work=$(mktemp -d /tmp/cocoon-term.XXXXXX)
sock=$work/console.sock
tmux_sock=cocoon-test-$$
T() { tmux -L "$tmux_sock" -f /dev/null "$@"; }
cleanup() {
    [ -n "${hpid:-}" ] && kill -TERM "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
    [ "$case" = tmux ] && T kill-server 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkfifo "$work/ready"
"$harness" "$relay" echo-vm "$sock" >"$work/ready" &
hpid=$!
read -r -t 20 line <"$work/ready" || fail "the stand-in VMM did not start"
[ "$line" = ready ] || fail "unexpected harness output '$line'"

if [ "$case" = pipe ]; then
    out=$(printf 'abc\n' | "$client" "$sock" demo interactive 500)
    printf '%s\n' "$out"
    grep -qx "Connected to domain 'demo'" <<<"$out" || fail "no banner"
    grep -qxF 'Escape character is ^] (Ctrl + ])' <<<"$out" || fail "no escape hint"
    grep -q 'ABC' <<<"$out" || fail "the VM's echo did not come back"
    grep -qF '[end: input-end]' <<<"$out" || fail "did not end on input end + idle"
    exit 0
fi

command -v tmux >/dev/null || { echo "SKIP: tmux is not installed"; exit 77; }
T new-session -d -x 100 -y 25 -s t "bash --norc --noprofile"
pane_tty=$(T display -p -t t '#{pane_tty}')

pane() { T capture-pane -p -t t; }
wait_for() { # wait_for FIXED-STRING
    for _ in $(seq 200); do
        pane | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    pane
    fail "timed out waiting for '$1'"
}
wait_file() {
    for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.1; done
    pane
    fail "timed out waiting for $1"
}

# Session 1: type, see the VM's echo, leave with Ctrl+].
T send-keys -t t "stty -a > $work/before; $client $sock demo; echo rc=\$? > $work/rc1; stty -a > $work/after1" Enter
wait_for "Escape character is ^] (Ctrl + ])"
wait_for "Connected to domain 'demo'"
stty -a -F "$pane_tty" | grep -q -- '-icanon' || fail "terminal not in raw mode during the session"
stty -a -F "$pane_tty" | grep -qw -- '-echo' || fail "local echo still on during the session"
T send-keys -t t -l "hello"
wait_for "HELLO"
pane | grep -q 'hello' && fail "typed text was echoed locally (terminal not raw)"
T send-keys -t t C-]
wait_file "$work/rc1"
grep -qx 'rc=0' "$work/rc1" || fail "client failed: $(cat "$work/rc1")"
wait_for "[end: escape]"
wait_file "$work/after1"
diff -u "$work/before" "$work/after1" || fail "terminal settings not restored after Ctrl+]"

# Session 2: the client is killed by SIGTERM; the terminal is restored all the same.
T send-keys -t t "clear; bash -c 'echo \$\$ > $work/pid; exec $client $sock demo'; stty -a > $work/after2" Enter
wait_file "$work/pid"
wait_for "Escape character is ^] (Ctrl + ])"
T send-keys -t t -l "again"
wait_for "AGAIN"
kill -TERM "$(cat "$work/pid")"
wait_for "[end: signal]"
wait_file "$work/after2"
diff -u "$work/before" "$work/after2" || fail "terminal settings not restored after SIGTERM"
echo "ok tmux"
