#!/bin/bash
# Run a command on a node of the namespace test cluster (tests/cluster/netns.py):
#   enter.sh NETNS HOSTS_FILE HOSTNAME COMMAND...
# nsenter joins only the node's network namespace (ip netns exec would also remount /sys, hiding
# /sys/fs/cgroup from slurmd); a private UTS namespace gives it its hostname, a private mount namespace
# its /etc/hosts (the cluster's names; the host's file is not touched).
set -eu
ns=$1 hosts=$2 name=$3; shift 3
exec nsenter --net="/run/netns/$ns" -- unshare --uts --mount -- /bin/sh -c \
    'mount --bind "$0" /etc/hosts && hostname "$1" && shift && exec "$@"' "$hosts" "$name" "$@"
