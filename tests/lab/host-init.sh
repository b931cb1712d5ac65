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

taskset -c 0 libvirtd -d --listen -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid \
    || { echo "host-init: libvirtd failed to start" >&2; exit 1; }
touch "$dir/ready"
while :; do
    sleep 3600 &
    wait $!
done
