#!/usr/bin/env bash
# Runs our host renderer (venus-host) inside the peers chroot, on the chroot's lavapipe, so it is
# compared with virglrenderer 1.1.0 on the very same driver (../shared/docs/peers.md).
#
#   eng/host.sh serve SOCKET [venus-host options]   SOCKET is a path inside the chroot (e.g. /tmp/venus.sock);
#                                                   prints the server pid; log at <chroot>SOCKET.log
#   eng/host.sh install                             (re)publish venus-host into the chroot; prints the
#                                                   executable's path inside the chroot (what
#                                                   RENDER_SERVER_EXEC_PATH names for QEMU)
#
# venus-host is published with NativeAOT (one native executable: workers start without JIT).
# VENUS_HOST_JIT=1 publishes and runs the framework-dependent (JIT) build instead, with the .NET
# runtime copied into the chroot (for the worker start-up comparison). VENUS_HOST_DRIVER overrides
# the ICD manifest (default: lavapipe).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "host.sh: $*" >&2; exit 1; }

# One published copy per checkout (and per build kind), so hosts started from another checkout never
# run (or get replaced by) this checkout's build.
jit() { [ "${VENUS_HOST_JIT:-0}" = 1 ]; }
host_dir() { echo "/opt/venus-host-$(printf %s "$root" | md5sum | cut -c1-8)$(jit && echo -jit || true)"; }
# The command line that starts venus-host inside the chroot.
host_cmd() { if jit; then echo "/opt/dotnet/dotnet $(host_dir)/venus-host.dll"; else echo "$(host_dir)/venus-host"; fi; }

# Publishes unless the published copy is newer than every source it is built from (bin/ and obj/,
# which builds rewrite, do not count); one publish at a time per copy (test fixtures start hosts in parallel).
install() {
  local peers="$1"
  mkdir -p "$peers/opt"
  exec 7>"$peers$(host_dir).lock"
  flock -w 1200 7 || die "timed out waiting for another publish of $(host_dir)"
  local stamp="$peers$(host_dir)/.published"
  if [ -f "$stamp" ] && [ -z "$(find "$root/src" "$root/Directory.Build.props" \
       \( -name obj -o -name bin \) -prune -o -newer "$stamp" \
       \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.xml' \) -print -quit 2>/dev/null)" ]; then
    exec 7>&-
    return 0
  fi
  rm -f "$stamp"
  publish "$peers"
  touch "$stamp"
  exec 7>&-
}

publish() {
  local peers="$1"
  local log="$peers$(host_dir).publish.log"
  if jit; then
    bash "$root/eng/peers.sh" dotnet >/dev/null || die "could not copy the .NET runtime into the chroot"
    dotnet publish "$root/src/Venus.HostRenderer" -c Release -o "$peers$(host_dir)" --nologo -v quiet \
      -p:TreatWarningsAsErrors=false >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "dotnet publish failed"; }
  else
    dotnet publish "$root/src/Venus.HostRenderer" -c Release -r linux-x64 -p:PublishAot=true -o "$peers$(host_dir)" --nologo -v quiet \
      -p:TreatWarningsAsErrors=false >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "NativeAOT publish of venus-host failed (log: $log)"; }
    [ -x "$peers$(host_dir)/venus-host" ] || die "NativeAOT publish left no $(host_dir)/venus-host"
  fi
}

serve() {
  local sock="${1:?usage: host.sh serve SOCKET [options]}"; shift
  local peers; peers="$(bash "$root/eng/peers.sh" ensure)"
  install "$peers"
  rm -f "$peers$sock"
  # shellcheck disable=SC2046 # host_cmd is one or two words, no spaces inside
  chroot "$peers" env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp DOTNET_ROOT=/opt/dotnet \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_EnableDiagnostics=0 VK_DRIVER_FILES="${VENUS_HOST_DRIVER:-/usr/share/vulkan/icd.d/lvp_icd.json}" \
    $(host_cmd) serve --socket-path "$sock" "$@" >"$peers$sock.log" 2>&1 &
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
  install) install "$(bash "$root/eng/peers.sh" ensure)"; host_cmd ;;
  *) die "usage: host.sh serve SOCKET [options] | install" ;;
esac
