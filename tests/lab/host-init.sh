#!/usr/bin/env bash
# tests/lab/host-init.sh - pid 1 of one lab host (see tests/lab/lab.sh).
#
# usage: host-init.sh HOSTDIR NAME
# Runs inside the host's own network, mount, UTS and pid namespaces. Bind-mounts the host's
# private libvirt directories over the system ones, starts libvirtd pinned to CPU 0 (so the
# copied QEMU capability cache stays valid), then stays alive reaping orphans: killing this
# process ends the whole host (libvirtd, QEMU, agents) at once, like pulling the plug.
set -u

dir=$1
hostname "$2"
for d in etc/libvirt run/libvirt var/lib/libvirt var/log/libvirt var/cache/libvirt; do
    mount --bind "$dir/$d" "/$d" || { echo "host-init: cannot bind $dir/$d on /$d" >&2; exit 1; }
done

# libvirtd's start failed once in CI, on a loaded machine right after the host crashed (its
# reason was not kept): three tries, each failure with libvirtd's words in init.log.
for try in 1 2 3; do
    taskset -c 0 libvirtd -d --listen -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid \
        && break
    echo "host-init: libvirtd failed to start (try $try of 3)" >&2
    [ "$try" = 3 ] && exit 1
    sleep 1
done
touch "$dir/ready"
while :; do
    sleep 3600 &
    wait $!
done
