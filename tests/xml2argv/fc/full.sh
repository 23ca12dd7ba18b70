#!/bin/sh
set -e
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/machine-config' -H 'Content-Type: application/json' -d '{"vcpu_count":4,"mem_size_mib":2048,"smt":false}'
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/boot-source' -H 'Content-Type: application/json' -d '{"kernel_image_path":"/var/lib/cocoon/kernels/vmlinux-6.1","initrd_path":"/var/lib/cocoon/kernels/initrd.img","boot_args":"quiet it'\''s=quoted console=ttyS0 reboot=k panic=1"}'
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/drives/vda' -H 'Content-Type: application/json' -d '{"drive_id":"vda","path_on_host":"/var/lib/cocoon/images/web-root.raw","is_root_device":true,"is_read_only":false}'
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/drives/vdb' -H 'Content-Type: application/json' -d '{"drive_id":"vdb","path_on_host":"/srv/images/o'\''brien data.raw","is_root_device":false,"is_read_only":true}'
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/network-interfaces/net0' -H 'Content-Type: application/json' -d '{"iface_id":"net0","host_dev_name":"fc-full0","guest_mac":"52:54:00:4a:30:01"}'
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/network-interfaces/net1' -H 'Content-Type: application/json' -d '{"iface_id":"net1","host_dev_name":"vnet1","guest_mac":"52:54:00:4a:30:02"}'
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/balloon' -H 'Content-Type: application/json' -d '{"amount_mib":512,"deflate_on_oom":false,"stats_polling_interval_s":0,"free_page_reporting":false}'
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/entropy' -H 'Content-Type: application/json' -d '{}'
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/vsock' -H 'Content-Type: application/json' -d '{"guest_cid":3,"uds_path":"/run/cocoon/domains/full/vsock.sock"}'
curl --fail-with-body --unix-socket '/run/cocoon/domains/full/fc-api.sock' -X PUT 'http://localhost/actions' -H 'Content-Type: application/json' -d '{"action_type":"InstanceStart"}'
