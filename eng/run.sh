#!/usr/bin/env bash
# The main job of this repository (README.md). Run as root from anywhere:
#
#   bash eng/run.sh [APP...]
#
# Ensures the peers chroot, starts our host renderer (venus-host) on lavapipe inside it, and runs
# Vulkan apps through it with our guest ICD (libvenus_icd.so, eng/icd.sh): by default
# `vulkaninfo --summary` and the project's compute job (tests/clients/compute.c, 1M elements,
# mapped host-visible buffers, results checked), then `venus probe` (our CLI as a guest).
# With APP given, runs that command line inside the chroot instead (e.g. `vulkaninfo`).
# The host is stopped on exit.
#
# VENUS_MAIN_SOCKET: the socket path inside the chroot (default /tmp/venus-main.sock).
# VENUS_GUEST=mesa: use Mesa 25.0.7's venus guest driver instead of ours.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
sock="${VENUS_MAIN_SOCKET:-/tmp/venus-main.sock}"

echo "run.sh: peers chroot" >&2
peers="$(bash eng/peers.sh ensure)"

log="$root/artifacts/run-build.log"
mkdir -p "$(dirname "$log")"
echo "run.sh: building src/Venus.Cli (Release; log: $log)" >&2
dotnet build src/Venus.Cli -c Release -nologo -v:quiet -clp:ErrorsOnly >"$log" 2>&1 || { cat "$log" >&2; exit 1; }

server=""
stop_server() {
  [ -n "$server" ] || return 0
  if kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server" 2>/dev/null || true
  fi
  rm -f "$peers$sock"
  server=""
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${VENUS_GUEST:-ours}" = mesa ]; then
  manifest=/usr/share/vulkan/icd.d/virtio_icd.json
  guest_name="Mesa's venus guest"
else
  echo "run.sh: our guest ICD (eng/icd.sh install: NativeAOT publish, about a minute the first time)" >&2
  manifest="$(bash eng/icd.sh install | tail -n 1)"
  guest_name="our guest ICD"
fi

echo "run.sh: venus-host on lavapipe at $peers$sock (publishing it into the chroot)" >&2
server="$(bash eng/host.sh serve "$sock")"
echo "run.sh: venus-host pid $server (log: $peers$sock.log)" >&2

guest() {
  chroot "$peers" env VK_DRIVER_FILES="$manifest" VN_DEBUG=vtest \
    VTEST_SOCKET_NAME="$sock" XDG_RUNTIME_DIR=/tmp NODEVICE_SELECT=1 "$@"
}

if [ $# -gt 0 ]; then
  guest "$@"
  exit
fi

echo "== vulkaninfo --summary ($guest_name on venus-host)"
guest timeout 60 vulkaninfo --summary

echo "== compute job ($guest_name on venus-host)"
work="$peers/tmp/venus-main-clients"
mkdir -p "$work"
cp tests/clients/compute.c tests/clients/compute.comp tests/clients/*.h "$work/"
chroot "$peers" sh -c 'cd /tmp/venus-main-clients && gcc -O2 -o compute compute.c -lvulkan && glslangValidator -V -o compute.spv compute.comp >/dev/null'
guest /tmp/venus-main-clients/compute /tmp/venus-main-clients/compute.spv 1048576 60

echo "== venus probe (our CLI as a guest on venus-host)"
dotnet run --project src/Venus.Cli -c Release --no-build -- probe --socket "$peers$sock"
