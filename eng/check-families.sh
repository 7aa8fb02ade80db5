#!/usr/bin/env bash
# Shows that the hand-written ICD commands have one source of truth (Definitions/icd.xml): in a copy
# of the tree, deleting a family's implementation of a listed command fails the build (CS8795), and a
# partial method that icd.xml does not list fails it too (CS0759). Each change is made in the
# checkout for one incremental build of src/Venus.GuestIcd and undone on exit, whatever happens.
#   eng/check-families.sh            check both (two incremental ICD builds)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/venus-check-families.XXXXXX")"
family="$root/src/Venus.GuestIcd/Families/Sync.cs"
unlisted="$root/src/Venus.GuestIcd/Families/Unlisted.cs"
[ -f "$family" ] || { echo "check-families.sh: $family is missing" >&2; exit 1; }
[ ! -e "$unlisted" ] || { echo "check-families.sh: $unlisted exists already" >&2; exit 1; }
cp -p "$family" "$work/Sync.cs"
restore() { cp "$work/Sync.cs" "$family"; rm -f "$unlisted"; rm -rf "$work"; }
trap restore EXIT
die() { echo "check-families.sh: $*" >&2; exit 1; }
build() { dotnet build "$root/src/Venus.GuestIcd" -c Release --nologo -v quiet 2>&1 || true; }

grep -q 'internal static partial VkResult vkResetFences(' "$family" || die "Families/Sync.cs has no vkResetFences to delete"

python3 - "$family" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
m = re.search(r'\n    internal static partial VkResult vkResetFences\(.*?\n    \}\n', s, re.S)
open(p, 'w').write(s[:m.start()] + '\n' + s[m.end():])
PY
out="$(build)"
grep -q 'error CS8795.*vkResetFences' <<<"$out" || { echo "$out" | tail -n 20 >&2; die "deleting vkResetFences from Families/Sync.cs did not fail the build with CS8795"; }
echo "check-families.sh: a listed command without its family method fails the build (CS8795)"

cp "$work/Sync.cs" "$family"
cat >"$unlisted" <<'CS'
namespace Venus.GuestIcd.Families;
internal static unsafe partial class IcdCommands
{
    internal static partial Venus.Protocol.Vulkan.VkResult vkTrimCommandPool(ulong device, ulong commandPool, uint flags) => default;
}
CS
out="$(build)"
grep -q 'error CS0759.*vkTrimCommandPool' <<<"$out" || { echo "$out" | tail -n 20 >&2; die "an unlisted family method did not fail the build with CS0759"; }
echo "check-families.sh: a family method that icd.xml does not list fails the build (CS0759)"
