#!/usr/bin/env bash
# Every example domain a user may start from is defined, dumped, validated against libvirt's
# schema and lowered to its hypervisor's native form, through the real cocoonvirsh.
set -euo pipefail
virsh_bin="$COCOON_BUILDDIR/tools/virsh/cocoonvirsh"
examples="$COCOON_SRCDIR/examples/domains"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
uri="cocoon:///embed?root=$root"

count=0
for xml in "$examples"/*.xml; do
    name=$(basename "$xml" .xml)
    out=$("$virsh_bin" -c "$uri" define "$xml")
    [ "$out" = "Domain '$name' defined from $xml" ] || { echo "define $name: unexpected '$out'"; exit 1; }

    "$virsh_bin" -c "$uri" dumpxml "$name" > "$root/$name.dump.xml"
    virt-xml-validate "$root/$name.dump.xml" domain >/dev/null ||
        { echo "dumpxml of $name does not validate"; exit 1; }

    case "$name" in
    fc-*) formats="firecracker-json firecracker-api" ;;
    ch-*) formats="cloud-hypervisor-argv cloud-hypervisor-json" ;;
    esac
    for format in $formats; do
        native=$("$virsh_bin" -c "$uri" domxml-to-native "$format" "$root/$name.dump.xml")
        case "$format" in
        firecracker-json) grep -q '"action_type": *"InstanceStart"' <<<"$native" ;;
        firecracker-api) grep -q "^curl .*--unix-socket .* -X PUT 'http://localhost/actions'" <<<"$native" ;;
        cloud-hypervisor-argv) grep -q -- '--api-socket' <<<"$native" ;;
        cloud-hypervisor-json) /usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin); assert c["payload"]' <<<"$native" ;;
        esac || { echo "$format of $name lacks what boots it:"; echo "$native"; exit 1; }
    done
    # The definition survives a redefine from its own dump unchanged (a fixed point).
    "$virsh_bin" -c "$uri" define "$root/$name.dump.xml" >/dev/null
    "$virsh_bin" -c "$uri" dumpxml "$name" | cmp -s - "$root/$name.dump.xml" ||
        { echo "redefining $name from its dump changed it"; exit 1; }
    count=$((count + 1))
done
listed=$("$virsh_bin" -c "$uri" list --all --name | grep -c .)
[ "$listed" = "$count" ] || { echo "list --all shows $listed domains, expected $count"; exit 1; }
echo "checked $count example domains"
