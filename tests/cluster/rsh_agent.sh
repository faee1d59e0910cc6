#!/bin/bash
# Open MPI's plm_rsh_agent for the namespace test cluster (tests/cluster/netns.py): called like ssh,
# `rsh_agent.sh [ssh options] HOST COMMAND...`, it runs COMMAND (orted) inside HOST's network namespace
# with HOST as its hostname, instead of logging in anywhere.
set -eu
while [[ $# -gt 0 && $1 == -* ]]; do
    case $1 in -[lpioF]) shift 2 ;; *) shift ;; esac   # ssh options that take a value, then flags
done
host=$1; shift
ns="${ZZHPC_NETNS_PREFIX:?ZZHPC_NETNS_PREFIX is not set: run under tests/cluster/netns.py}$host"
exec ip netns exec "$ns" unshare --uts /bin/sh -c 'hostname "$0" && exec /bin/sh -c "$1"' "$host" "$*"
