#!/bin/bash
# Open MPI's plm_rsh_agent for the namespace test cluster (tests/cluster/netns.py): called like ssh,
# `rsh_agent.sh [ssh options] HOST COMMAND...`, it runs COMMAND (orted) on HOST through enter.sh, the
# way ssh would log in to a real node.
set -eu
while [[ $# -gt 0 && $1 == -* ]]; do
    case $1 in -[lpioF]) shift 2 ;; *) shift ;; esac   # ssh options that take a value, then flags
done
host=$1; shift
: "${ZZHPC_NETNS_PREFIX:?not set: run under tests/cluster/netns.py}" "${ZZHPC_NETNS_HOSTS:?not set}"
exec "$(dirname "$0")/enter.sh" "$ZZHPC_NETNS_PREFIX$host" "$ZZHPC_NETNS_HOSTS" "$host" /bin/sh -c "$*"
