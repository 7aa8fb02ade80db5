#!/usr/bin/env bash
# Regenerates src/Venus.Protocol/Generated, tests/Venus.Protocol.Tests/Generated, src/Venus.HostRenderer/Generated
# and src/Venus.GuestIcd/Generated from vk.xml 1.4.309 and our Venus definitions.
#   eng/codegen.sh           write the generated files
#   eng/codegen.sh --check   fail if the committed files differ from a fresh generation
# vk.xml comes from $VENUS_VKXML, else the peers chroot (Debian trixie's libvulkan-dev ships it),
# copied into .cache/ so later runs need no chroot.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/vk.xml"
want_version=309
if [ -n "${VENUS_VKXML:-}" ]; then
  vkxml="$VENUS_VKXML"
else
  if [ ! -f "$cache" ]; then
    peers="$(bash "$root/eng/peers.sh" ensure)"
    mkdir -p "$root/.cache"
    cp "$peers/usr/share/vulkan/registry/vk.xml" "$cache"
  fi
  vkxml="$cache"
fi
grep -q "#define <name>VK_HEADER_VERSION</name> $want_version<" "$vkxml" \
  || { echo "codegen.sh: $vkxml is not vk.xml 1.4.$want_version" >&2; exit 1; }
exec dotnet run --project "$root/src/Venus.Codegen" -c Release -- \
  --vkxml "$vkxml" --defs "$root/src/Venus.Codegen/Definitions" --out "$root/src/Venus.Protocol/Generated" \
  --tests-out "$root/tests/Venus.Protocol.Tests/Generated" \
  --host-out "$root/src/Venus.HostRenderer/Generated" \
  --icd-out "$root/src/Venus.GuestIcd/Generated" "$@"
