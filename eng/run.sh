#!/usr/bin/env bash
# The main job of this repository (README.md). Run as root from anywhere:
#
#   bash eng/run.sh [more venus probe options, e.g. --json]
#
# Ensures the peers chroot, starts virglrenderer 1.1.0's virgl_test_server --venus on lavapipe
# inside it, and runs our CLI against it: `venus probe` talks to the host over vtest as a guest
# driver would and reports what it offers. The server is stopped on exit.
# Later the guest ICD and host renderer take this place (see README.md, Status).
#
# VENUS_MAIN_SOCKET: the socket path inside the chroot (default /tmp/venus-main.sock).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
sock="${VENUS_MAIN_SOCKET:-/tmp/venus-main.sock}"

echo "run.sh: peers chroot" >&2
peers="$(bash eng/peers.sh ensure)"

# Build first with only errors shown (the generated protocol has many harmless warnings).
log="$root/artifacts/run-build.log"
mkdir -p "$(dirname "$log")"
echo "run.sh: building src/Venus.Cli (Release; log: $log)" >&2
dotnet build src/Venus.Cli -c Release -nologo -v:quiet -clp:ErrorsOnly >"$log" 2>&1 || { cat "$log" >&2; exit 1; }

server=""
stop_server() {
  [ -n "$server" ] || return 0
  if kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server" 2>/dev/null || true
  fi
  rm -f "$peers$sock"
  server=""
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "run.sh: virgl_test_server --venus on lavapipe at $peers$sock" >&2
server="$(bash eng/peers.sh serve "$sock")"
echo "run.sh: server pid $server (log: $peers$sock.log)" >&2

dotnet run --project src/Venus.Cli -c Release --no-build -- probe --socket "$peers$sock" "$@"
