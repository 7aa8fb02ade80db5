#!/usr/bin/env bash
# Wall times of Vulkan apps through Mesa 25.0.7's venus guest on both hosts, side by side in one run
# (same chroot, same lavapipe): virglrenderer 1.1.0, venus-host (NativeAOT: worker processes and
# --isolation thread; JIT: worker processes), and native lavapipe for reference. Prints medians of
# vulkaninfo and each compute run, and how long a worker takes from exec to ready, JIT vs NativeAOT.
#
#   bash eng/measure.sh [RUNS]      (default 11 vulkaninfo runs per host, 5 compute runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
runs="${1:-11}"
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -gt 0 ] || { echo "measure.sh: RUNS must be a positive number" >&2; exit 2; }
P="$(bash eng/peers.sh ensure)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
pids+=("$(bash eng/peers.sh serve /tmp/measure-virgl.sock)")
pids+=("$(bash eng/host.sh serve /tmp/measure-host.sock)")
pids+=("$(bash eng/host.sh serve /tmp/measure-thread.sock --isolation thread)")
pids+=("$(VENUS_HOST_JIT=1 bash eng/host.sh serve /tmp/measure-jit.sock)")
mkdir -p "$P/tmp/measure-clients"
cp tests/clients/compute.c tests/clients/compute.comp tests/clients/*.h "$P/tmp/measure-clients/"
chroot "$P" sh -c 'cd /tmp/measure-clients && gcc -O2 -o compute compute.c -lvulkan && glslangValidator -V -o compute.spv compute.comp >/dev/null'
guest() { chroot "$P" env VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json VN_DEBUG=vtest VTEST_SOCKET_NAME="$1" XDG_RUNTIME_DIR=/tmp NODEVICE_SELECT=1 "${@:2}"; }
native() { chroot "$P" env VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json XDG_RUNTIME_DIR=/tmp NODEVICE_SELECT=1 "$@"; }
ms() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1 || echo "measure.sh: failed: $*" >&2; echo $(( ($(date +%s%N) - s) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
compute="/tmp/measure-clients/compute /tmp/measure-clients/compute.spv 1048576 30"
sleep 5 # let the spare worker warm up
for sock in /tmp/measure-virgl.sock /tmp/measure-host.sock /tmp/measure-thread.sock /tmp/measure-jit.sock; do guest $sock vulkaninfo >/dev/null 2>&1 || true; done
for h in virgl:/tmp/measure-virgl.sock host:/tmp/measure-host.sock thread:/tmp/measure-thread.sock jit:/tmp/measure-jit.sock; do
  echo "vulkaninfo ${h%%:*}: median $(for _ in $(seq 1 "$runs"); do ms guest "${h#*:}" vulkaninfo; sleep 1; done | median) ms"
done
echo "vulkaninfo native lavapipe: median $(for _ in $(seq 1 "$runs"); do ms native vulkaninfo; done | median) ms"
for h in host:/tmp/measure-host.sock thread:/tmp/measure-thread.sock; do
  for _ in 1 2 3 4 5; do echo "compute ${h%%:*}: $(guest "${h#*:}" $compute | tail -1)"; sleep 1; done
done
for _ in 1 2 3; do echo "compute native: $(native $compute | tail -1)"; done
rc=0; guest /tmp/measure-virgl.sock timeout 10 $compute >/dev/null 2>&1 || rc=$?
echo "compute virgl: exit status $rc ($([ $rc = 124 ] && echo "hung, killed after 10 s" || echo "see the server log"))"
# Each worker logs "ready N ms after exec, warm-up M ms" when a client reaches it.
for h in host:/tmp/measure-host.sock jit:/tmp/measure-jit.sock; do
  ready=$(grep -o 'ready [0-9]* ms after exec' "$P${h#*:}.log" | awk '{print $2}' | median)
  warm=$(grep -o 'warm-up [0-9]* ms' "$P${h#*:}.log" | awk '{print $2}' | median)
  echo "worker start ${h%%:*} ($(grep -o -m1 'NativeAOT\|JIT;' "$P${h#*:}.log" | tr -d ';')): exec to ready median ${ready:-?} ms (warm-up ${warm:-?} ms)"
done
