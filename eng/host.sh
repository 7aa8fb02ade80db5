#!/usr/bin/env bash
# Runs our host renderer (venus-host) inside the peers chroot, on the chroot's lavapipe, so it is
# compared with virglrenderer 1.1.0 on the very same driver (../shared/docs/peers.md).
#
#   eng/host.sh serve SOCKET [venus-host options]   SOCKET is a path inside the chroot (e.g. /tmp/venus.sock);
#                                                   prints the server pid; log at <chroot>SOCKET.log
#   eng/host.sh install                             (re)publish venus-host and the .NET runtime into the chroot
#
# The .NET runtime is copied into the chroot (a framework-dependent venus-host runs on trixie's glibc);
# VENUS_HOST_DRIVER overrides the ICD manifest (default: lavapipe).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "host.sh: $*" >&2; exit 1; }

# One published copy per checkout, so hosts started from another checkout never run (or get
# replaced by) this checkout's build.
host_dir() { echo "/opt/venus-host-$(printf %s "$root" | md5sum | cut -c1-8)"; }

install() {
  local peers="$1"
  local dotnet_root; dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  if [ ! -x "$peers/opt/dotnet/dotnet" ]; then
    mkdir -p "$peers/opt/dotnet/shared"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$peers/opt/dotnet/"
    cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$peers/opt/dotnet/shared/"
  fi
  dotnet publish "$root/src/Venus.HostRenderer" -c Release -o "$peers$(host_dir)" --nologo -v quiet \
    -p:TreatWarningsAsErrors=false >"$peers$(host_dir).publish.log" 2>&1 \
    || { tail -n 20 "$peers$(host_dir).publish.log" >&2; die "dotnet publish failed"; }
}

serve() {
  local sock="${1:?usage: host.sh serve SOCKET [options]}"; shift
  local peers; peers="$(bash "$root/eng/peers.sh" ensure)"
  install "$peers"
  rm -f "$peers$sock"
  chroot "$peers" env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp DOTNET_ROOT=/opt/dotnet \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_EnableDiagnostics=0 VK_DRIVER_FILES="${VENUS_HOST_DRIVER:-/usr/share/vulkan/icd.d/lvp_icd.json}" \
    /opt/dotnet/dotnet "$(host_dir)/venus-host.dll" serve --socket-path "$sock" "$@" >"$peers$sock.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 200); do
    [ -S "$peers$sock" ] && { echo "$pid"; return 0; }
    kill -0 "$pid" 2>/dev/null || { cat "$peers$sock.log" >&2; die "venus-host exited"; }
    sleep 0.1
  done
  kill "$pid" 2>/dev/null; die "venus-host did not create $peers$sock within 20 s"
}

case "${1:-}" in
  serve) shift; serve "$@" ;;
  install) install "$(bash "$root/eng/peers.sh" ensure)" ;;
  *) die "usage: host.sh serve SOCKET [options] | install" ;;
esac
