#!/usr/bin/env bash
# The .NET sample (samples/Venus.Sample, Silk.NET.Vulkan): a compute job and an offscreen render,
# written as any .NET Vulkan app would be, with nothing Venus-specific in it.
#
#   eng/sample.sh install   publish it (framework-dependent) into the peers chroot at
#                           /opt/venus-sample-<checkout hash>/, compile its shaders there with the
#                           chroot's glslangValidator, copy the .NET runtime into the chroot
#                           (eng/peers.sh dotnet); prints the command line that runs it inside the chroot
#
# Run that command with VK_DRIVER_FILES (and for our ICD VN_DEBUG=vtest VTEST_SOCKET_NAME=...) set.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "sample.sh: $*" >&2; exit 1; }
[ "${1:-}" = install ] || die "usage: sample.sh install"

peers="$(bash "$root/eng/peers.sh" ensure)"
dir="/opt/venus-sample-$(printf %s "$root" | md5sum | cut -c1-8)"
runtime="$(bash "$root/eng/peers.sh" dotnet)" || die "could not copy the .NET runtime into the chroot"
mkdir -p "$peers$dir"
dotnet publish "$root/samples/Venus.Sample" -c Release -o "$peers$dir" --nologo -v quiet >"$peers$dir.publish.log" 2>&1 \
  || { tail -n 20 "$peers$dir.publish.log" >&2; die "dotnet publish of samples/Venus.Sample failed"; }
for s in square.comp triangle.vert triangle.frag; do
  chroot "$peers" glslangValidator -V "$dir/shaders/$s" -o "$dir/shaders/$s.spv" >"$peers$dir.glslang.log" 2>&1 \
    || { cat "$peers$dir.glslang.log" >&2; die "glslangValidator failed on $s"; }
done
echo "$runtime $dir/venus-sample.dll $dir/shaders"
