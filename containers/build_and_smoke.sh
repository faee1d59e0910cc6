#!/usr/bin/env bash
# Build the zzhpc OCI image here and smoke-test it inside: `zzhpc info`, a numerically checked 2-rank
# allreduce under the image's mpiexec, and a short 2-rank heat run. Prints the time of each stage.
#
# This machine has no Docker engine and no registry: the base is a `debootstrap --variant=minbase bookworm`
# root imported with `podman import`, the image is built by buildah as root with --isolation chroot and
# the vfs storage driver, and the smoke tests run with `buildah run --isolation chroot`.
#   bash containers/build_and_smoke.sh            # build (reusing the base if present) and test
#   ZZHPC_REBUILD_BASE=1 bash containers/...      # debootstrap the base again
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${ZZHPC_BASE_IMAGE:-localhost/debian-minbase:bookworm}
IMAGE=${ZZHPC_IMAGE:-localhost/zzhpc:latest}
SD=(--storage-driver vfs)
WORK=${TMPDIR:-/tmp}/zzhpc-image.$$
mkdir -p "$WORK"
ctr=""
cleanup() {
  [ -n "$ctr" ] && buildah "${SD[@]}" rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
stage() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
timed() { local t0=$SECONDS; "$@"; echo "    ($((SECONDS - t0)) s)"; }

for tool in podman buildah debootstrap; do
  command -v "$tool" >/dev/null || { echo "need $tool: apt-get install podman buildah debootstrap" >&2; exit 1; }
done

if [ -n "${ZZHPC_REBUILD_BASE:-}" ] || ! podman "${SD[@]}" image exists "$BASE"; then
  stage "base: debootstrap --variant=minbase bookworm -> podman import $BASE"
  base_root() {
    debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log"
    rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb
    tar -C "$WORK/rootfs" -c . | podman "${SD[@]}" import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
    rm -rf "$WORK/rootfs"
  }
  timed base_root
fi

stage "image: buildah bud -f containers/Containerfile -t $IMAGE (BASE=$BASE)"
# A TLS-intercepting proxy's CA (this machine has one) is lent to pip for the build only.
CA=${ZZHPC_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}
CA_ARGS=()
[ -f "$CA" ] && CA_ARGS=(--volume "$CA:/run/zzhpc-build-ca.crt:ro" --build-arg BUILD_CA=/run/zzhpc-build-ca.crt)
t0=$SECONDS
buildah "${SD[@]}" bud --isolation chroot --layers --build-arg "BASE=$BASE" "${CA_ARGS[@]}" \
  -f containers/Containerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log"; exit 1; }
echo "    ($((SECONDS - t0)) s)"
podman "${SD[@]}" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -F "${IMAGE#localhost/}" || true

ctr=$(buildah "${SD[@]}" from "$IMAGE")
run() { buildah "${SD[@]}" run --isolation chroot \
          --env OMPI_ALLOW_RUN_AS_ROOT=1 --env OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
          --env OMPI_MCA_rmaps_base_oversubscribe=1 --env OMPI_MCA_btl_tcp_if_include=lo \
          --env OMPI_MCA_oob_tcp_if_include=lo "$ctr" -- "$@"; }

stage "smoke 1: zzhpc info"
timed run zzhpc info

stage "smoke 2: 2-rank allreduce, checked"
timed run mpiexec -n 2 python3 -c '
from mpi4py import MPI
import numpy as np
c = MPI.COMM_WORLD
x = np.arange(1000, dtype=np.float64) * (c.rank + 1)
y = np.empty_like(x)
c.Allreduce(x, y, op=MPI.SUM)
want = np.arange(1000, dtype=np.float64) * sum(r + 1 for r in range(c.size))
assert c.size == 2 and np.array_equal(y, want), "allreduce mismatch"
if c.rank == 0:
    print(f"allreduce ok on {c.size} ranks: {MPI.Get_library_version().splitlines()[0]}")
'

stage "smoke 3: 2-rank heat run"
timed run mpiexec -n 2 zzhpc run /opt/zzhpc/examples/heat.toml -o /tmp/heat -q \
  --set run.t_end=0.002 --set 'heat.shape=[48,40]'
run python3 -c '
import json
s = json.load(open("/tmp/heat/summary.json"))
assert s["status"] == "done" and s["ranks"] == 2, s["status"]
print("heat ok:", s["steps"], "steps, l2 =", s["diagnostics"]["l2"], ", error_max =", s["diagnostics"].get("error_max"))
'
stage "all smoke tests passed ($IMAGE)"
