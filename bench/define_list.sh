#!/usr/bin/env bash
# Define and list throughput: one cocoonvirsh process defining N domains against one virsh
# process defining the same N on libvirt's QEMU driver run embedded (which, like Cocoon,
# validates and fsyncs every definition), alternating, in the same run; libvirt's in-memory
# test:///default beside them for reference. Then `list --all` over the N domains, a fresh
# process each time.
#
#   bench/define_list.sh [BUILD_DIR] [N] [ROUNDS]
set -euo pipefail
build=${1:-build-plain}
n=${2:-1000}
rounds=${3:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$top/$build" ;; esac
cocoonvirsh="$build/tools/virsh/cocoonvirsh"
[ -x "$cocoonvirsh" ] || { echo "error: no $cocoonvirsh; build first" >&2; exit 1; }
command -v virsh >/dev/null && [ -x /usr/bin/qemu-system-x86_64 ] ||
    { echo "error: peers missing; run bench/setup-peers.sh" >&2; exit 1; }

work=$(mktemp -d /var/tmp/cocoon-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/xml-cocoon" "$work/xml-qemu"

domain_xml() { # name uuid type emulator
    cat <<XML
<domain type='$3'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>/var/lib/cocoon/images/vmlinux</kernel>
    <cmdline>root=/dev/vda rw</cmdline>
  </os>
  <devices>
    <emulator>$4</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/cocoon/images/$1.ext4'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'>
      <target port='0'/>
    </serial>
  </devices>
</domain>
XML
}

cocoon_cmds=""; qemu_cmds=""
for i in $(seq -w 1 "$n"); do
    uuid=$(printf '6c6f636f-6f6e-4000-8000-%012d' "$((10#$i))")
    domain_xml "vm$i" "$uuid" kvm /usr/bin/firecracker > "$work/xml-cocoon/vm$i.xml"
    domain_xml "vm$i" "$uuid" qemu /usr/bin/qemu-system-x86_64 > "$work/xml-qemu/vm$i.xml"
    cocoon_cmds+="define $work/xml-cocoon/vm$i.xml;"
    qemu_cmds+="define $work/xml-qemu/vm$i.xml;"
done

seconds() { # command… → wall seconds on stdout, command output discarded
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# libvirt probes QEMU once per root (~2 s, cached): do it before timing, as bench-peers.md says.
qemu_root() { local d="$work/qemu-$1"; mkdir -p "$d"; virsh -q -c "qemu:///embed?root=$d" list >/dev/null; echo "$d"; }

: > "$work/def-cocoon"; : > "$work/def-qemu"; : > "$work/def-test"
for r in $(seq 1 "$rounds"); do
    croot="$work/cocoon-$r"; qroot=$(qemu_root "$r")
    seconds "$cocoonvirsh" -q -c "cocoon:///embed?root=$croot" "$cocoon_cmds" >> "$work/def-cocoon"
    seconds virsh -q -c "qemu:///embed?root=$qroot" "$qemu_cmds" >> "$work/def-qemu"
    seconds virsh -q -c test:///default "$qemu_cmds" >> "$work/def-test"
done
# Every definition must really be there, durable, after the command returned.
got=$("$cocoonvirsh" -q -c "cocoon:///embed?root=$work/cocoon-1" list --all --name | grep -c .)
[ "$got" = "$n" ] || { echo "error: cocoon defined $got of $n domains" >&2; exit 1; }

: > "$work/list-cocoon"; : > "$work/list-qemu"
for r in $(seq 1 10); do
    seconds "$cocoonvirsh" -q -c "cocoon:///embed?root=$work/cocoon-1" list --all >> "$work/list-cocoon"
    seconds virsh -q -c "qemu:///embed?root=$work/qemu-1" list --all >> "$work/list-qemu"
done

dc=$(median < "$work/def-cocoon"); dq=$(median < "$work/def-qemu"); dt=$(median < "$work/def-test")
lc=$(median < "$work/list-cocoon"); lq=$(median < "$work/list-qemu")
printf 'define x%d (median of %d, one process each):\n' "$n" "$rounds"
printf '  cocoon embed          %7.3f s  %6.3f ms/define\n' "$dc" "$(echo "$dc * 1000 / $n" | bc -l)"
printf '  libvirt qemu:///embed %7.3f s  %6.3f ms/define\n' "$dq" "$(echo "$dq * 1000 / $n" | bc -l)"
printf '  libvirt test:///default (in memory, reference) %7.3f s\n' "$dt"
printf '  cocoon is %.2fx faster per define than libvirt qemu embed\n' "$(echo "$dq / $dc" | bc -l)"
printf 'list --all over %d domains (median of 10 fresh processes):\n' "$n"
printf '  cocoon embed          %7.1f ms\n' "$(echo "$lc * 1000" | bc -l)"
printf '  libvirt qemu:///embed %7.1f ms\n' "$(echo "$lq * 1000" | bc -l)"
printf '  cocoon is %.1fx faster\n' "$(echo "$lq / $lc" | bc -l)"
