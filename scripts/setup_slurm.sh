#!/usr/bin/env bash
# Slurm and munge from Debian for tests/test_slurm.py (which starts its own private single-node cluster on
# 127.0.0.1 under a temporary folder; nothing here starts or configures a daemon) and for the multi-node tests
# (tests/test_multinode*.py: network namespaces need iproute2's ip and tc, util-linux's nsenter and unshare).
# Idempotent: a second run checks and returns at once.
set -euo pipefail
PKGS="slurm-wlm munge iproute2"
missing=()
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup_slurm: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # policy-rc.d / no systemd: the packages' own services are not started (the tests start their own).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for b in munged slurmctld slurmd sbatch srun squeue scontrol scancel ip tc nsenter unshare; do
  command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || { echo "setup_slurm: $b missing after install" >&2; exit 1; }
done
test -f /usr/lib/x86_64-linux-gnu/slurm-wlm/mpi_pmix.so || ls /usr/lib/*/slurm-wlm/mpi_pmix*.so >/dev/null 2>&1 \
  || { echo "setup_slurm: Slurm's PMIx plugin (mpi_pmix) missing" >&2; exit 1; }
echo "setup_slurm: ok (slurm-wlm $(dpkg-query -W -f='${Version}' slurm-wlm), munge $(dpkg-query -W -f='${Version}' munge))"
