#!/usr/bin/env bash
# Builds the `venus` command line (NativeAOT: one executable, no .NET runtime needed) and installs it.
#
#   eng/cli.sh build      publish to artifacts/cli/venus; prints its path
#   eng/cli.sh install    build, then copy it into the peers chroot at /opt/venus-cli-<checkout hash>/venus;
#                         prints the path as processes inside the chroot see it
#
# `venus doctor` must run where the application runs (it loads the Vulkan loader and the drivers that
# an application would), so the tests run it inside the chroot like the apps.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "cli.sh: $*" >&2; exit 1; }
out="$root/artifacts/cli"

cli_dir() { echo "/opt/venus-cli-$(printf %s "$root" | md5sum | cut -c1-8)"; }

build() {
  bash "$root/eng/aot-publish.sh" "$root/src/Venus.Cli" "$out" || die "could not build venus"
  [ -x "$out/venus" ] || die "publish made no $out/venus"
}

case "${1:-}" in
  build)
    build
    echo "$out/venus" ;;
  install)
    peers="$(bash "$root/eng/peers.sh" ensure)"
    build
    dir="$(cli_dir)"
    mkdir -p "$peers$dir"
    cp "$out/venus" "$peers$dir/venus.new" && mv -f "$peers$dir/venus.new" "$peers$dir/venus"
    echo "$dir/venus" ;;
  *) die "usage: cli.sh build | install" ;;
esac
