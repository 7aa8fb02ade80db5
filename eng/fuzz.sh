#!/usr/bin/env bash
# Coverage-guided fuzzing of venus-host's guest-facing readers (fuzz/Venus.Fuzz) with SharpFuzz and
# Debian's AFL++.
#
#   eng/fuzz.sh TARGET SECONDS     fuzz TARGET (decoder | vtest | render | ring | lavapipe) for SECONDS; the corpus, crashes and
#                                  hangs stay under artifacts/fuzz/TARGET (a later run resumes from them)
#   eng/fuzz.sh smoke [SECONDS]    every target but lavapipe (VENUS_FUZZ_SMOKE_LAVAPIPE=1 adds it) for SECONDS each (default 30) from the committed seeds
#                                  in a fresh folder; exit 1 on any crash or hang (the CI run)
#   eng/fuzz.sh regress            every committed reproducer (fuzz/regressions/TARGET) and seed once
#
# Each run ends with one line per target: executions, executions per second, edges, crashes, hangs.
# Inputs: fuzz/seeds/TARGET (written by `venus-fuzz seeds` from venus-host --record streams) and the
# dictionary fuzz/venus.dict (`venus-fuzz dict`: command types and sTypes).
#
# The lavapipe target runs the host's decoder, dispatcher and handlers on the real driver: the peers
# chroot's lavapipe (eng/peers.sh). afl-fuzz runs here; the target runs inside the chroot (JIT, with
# the .NET runtime eng/peers.sh copies there), from a copy of the instrumented build under
# /opt/venus-fuzz-<checkout hash>; inputs reach it through AFL's shared memory and stdin as usual.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "fuzz.sh: $*" >&2; exit 1; }
targets=(decoder vtest render ring lavapipe)
bin="$root/artifacts/fuzz/bin"
peers=""
# The copy of $bin inside the chroot (one per checkout, as eng/host.sh does for venus-host).
chroot_bin="/opt/venus-fuzz-$(printf %s "$root" | md5sum | cut -c1-8)"

# afl-fuzz from Debian's afl++ package; a bare CI machine (root) gets it installed here.
need_afl() {
  command -v afl-fuzz >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "afl-fuzz is missing: apt-get install afl++"
  echo "fuzz.sh: installing afl++" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null; } \
    || die "could not install afl++ (apt-get install afl++)"
  command -v afl-fuzz >/dev/null || die "afl++ installed but no afl-fuzz on PATH"
}

# Release build (JIT: SharpFuzz instruments IL) of venus-fuzz, then the assemblies that read guest
# bytes instrumented in place. Rebuilt when a source is newer than the last instrumentation.
build() {
  local stamp="$bin/.instrumented"
  if [ -f "$stamp" ] && [ -z "$(find "$root/src" "$root/fuzz" -newer "$stamp" \( -name '*.cs' -o -name '*.csproj' \) -print -quit)" ]; then
    return 0
  fi
  rm -rf "$bin"
  mkdir -p "$bin"
  dotnet publish "$root/fuzz/Venus.Fuzz" -c Release -o "$bin" --nologo -v quiet -p:TreatWarningsAsErrors=false \
    >"$bin.publish.log" 2>&1 || { tail -n 20 "$bin.publish.log" >&2; die "dotnet publish fuzz/Venus.Fuzz failed"; }
  (cd "$root" && dotnet tool restore >/dev/null) || die "dotnet tool restore (SharpFuzz.CommandLine) failed"
  local dll
  for dll in Venus.Protocol.dll venus-host.dll Venus.Transport.Vtest.dll Venus.Transport.RenderServer.dll; do
    (cd "$root" && dotnet tool run sharpfuzz "$bin/$dll" >/dev/null) || die "sharpfuzz could not instrument $dll"
  done
  touch "$stamp"
}

# The lavapipe target's place to run: the peers chroot with the .NET runtime and this build in it.
need_chroot() {
  [ -n "$peers" ] && return 0
  peers="$(bash "$root/eng/peers.sh" ensure)" || die "no peers chroot (eng/peers.sh ensure)"
  bash "$root/eng/peers.sh" dotnet >/dev/null || die "could not copy the .NET runtime into the chroot (eng/peers.sh dotnet)"
  rm -rf "${peers:?}$chroot_bin"
  mkdir -p "$peers$chroot_bin"
  cp -a "$bin/." "$peers$chroot_bin/"
}

# target_cmd TARGET: the command line afl-fuzz (or a --run) starts for TARGET.
target_cmd() {
  if [ "$1" = lavapipe ]; then
    # env keeps AFL's variables (its shared memory ids) and adds the driver's.
    echo chroot "$peers" /usr/bin/env VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json DOTNET_ROOT=/opt/dotnet \
      DOTNET_EnableDiagnostics=0 HOME=/tmp /opt/dotnet/dotnet "$chroot_bin/venus-fuzz.dll" lavapipe
  else
    echo dotnet "$bin/venus-fuzz.dll" "$1"
  fi
}

# fuzz TARGET SECONDS OUT [retried]: afl-fuzz on the committed seeds (or resumes OUT).
fuzz() {
  local target="$1" seconds="$2" out="$3" input="$root/fuzz/seeds/$1"
  [ -d "$input" ] && [ -n "$(ls -A "$input")" ] || die "no seeds in fuzz/seeds/$target"
  mkdir -p "$out"
  [ -f "$out/default/fuzzer_stats" ] && input=-
  [ "$target" = lavapipe ] && need_chroot
  local cmd timeout_ms=5000
  read -r -a cmd <<<"$(target_cmd "$target")"
  # lavapipe: an input's context is ended after 1.5 s, and its teardown may then wait up to the
  # host's own bound for queue work (SubmitRetire.WaitLimitNs, 10 s: a submit waiting on a value
  # nobody signals) before it leaves that device undestroyed; a hang is an input past both.
  [ "$target" = lavapipe ] && timeout_ms=15000
  # AFL checks for native instrumentation, CPU governors, core dumps and a free core; none of that
  # applies to a .NET target on a shared machine.
  AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
  AFL_NO_UI=1 AFL_QUIET=1 AFL_SKIP_CRASHES=0 AFL_FAST_CAL=1 \
    timeout -k 10 $((seconds + 120)) afl-fuzz -i "$input" -o "$out" -x "$root/fuzz/venus.dict" -t "$timeout_ms" -m none -V "$seconds" \
      -- "${cmd[@]}" >"$out/afl.log" 2>&1 || {
      # AFL's dry run of the first seed sometimes sees an empty coverage map on a heavily loaded
      # machine (seen once in CI, for the ring target, at 10 runnable tasks on 2 cores; not
      # reproducible after): a fresh run gets one more try, saying so. A real failure fails twice.
      if [ "${4:-}" != retried ] && [ "$input" != - ] && grep -aq "No instrumentation detected" "$out/afl.log"; then
        echo "fuzz.sh: afl-fuzz $target saw no coverage in its dry run; trying once more" >&2
        mv "$out/afl.log" "$out.first-afl.log"; rm -rf "$out"
        fuzz "$target" "$seconds" "$out" retried
        return
      fi
      tail -n 30 "$out/afl.log" >&2
      die "afl-fuzz $target failed (log: $out/afl.log)"
    }
  report "$target" "$out"
}

stat() { sed -n "s/^$2 *: *//p" "$1/default/fuzzer_stats" | head -n 1; }

# One line per target; non-zero when AFL saved a crash or a hang.
report() {
  local target="$1" out="$2" crashes hangs
  crashes=$(stat "$out" saved_crashes); hangs=$(stat "$out" saved_hangs)
  echo "fuzz $target: $(stat "$out" execs_done) executions, $(stat "$out" execs_per_sec) exec/s, $(stat "$out" edges_found) edges" \
       "($(stat "$out" bitmap_cvg) of the map), corpus $(stat "$out" corpus_count), crashes ${crashes:-?}, hangs ${hangs:-?}; $out"
  if [ "${crashes:-1}" != 0 ] || [ "${hangs:-1}" != 0 ]; then
    ls "$out"/default/crashes "$out"/default/hangs 2>/dev/null | grep -v README >&2 || true
    return 1
  fi
}

case "${1:-}" in
  decoder|vtest|render|ring|lavapipe)
    [ $# = 2 ] && [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] || die "usage: fuzz.sh TARGET SECONDS"
    need_afl; build
    fuzz "$1" "$2" "$root/artifacts/fuzz/$1" ;;
  smoke)
    seconds="${2:-30}"
    [[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || die "usage: fuzz.sh smoke [SECONDS]"
    need_afl; build
    status=0
    # lavapipe is left out of the smoke run (it needs the peers chroot and runs at tens of
    # executions a second: a short run says little). VENUS_FUZZ_SMOKE_LAVAPIPE=1 adds it; regress
    # runs its seeds and fixed reproducers every time.
    smoke_targets=(decoder vtest render ring)
    [ "${VENUS_FUZZ_SMOKE_LAVAPIPE:-0}" = 1 ] && smoke_targets+=(lavapipe)
    for t in "${smoke_targets[@]}"; do
      out="$root/artifacts/fuzz/smoke-$t"
      rm -rf "$out"
      fuzz "$t" "$seconds" "$out" || status=1
    done
    exit $status ;;
  regress)
    build
    status=0
    for t in "${targets[@]}"; do
      dirs=("$root/fuzz/seeds/$t")
      [ -d "$root/fuzz/regressions/$t" ] && dirs+=("$root/fuzz/regressions/$t")
      if [ "$t" = lavapipe ]; then
        # The inputs go into the chroot with the build.
        need_chroot
        rm -rf "$peers$chroot_bin/inputs"; mkdir -p "$peers$chroot_bin/inputs"
        run=()
        for d in "${dirs[@]}"; do cp -a "$d" "$peers$chroot_bin/inputs/$(basename "$(dirname "$d")")-$(basename "$d")"; run+=("$chroot_bin/inputs/$(basename "$(dirname "$d")")-$(basename "$d")"); done
        read -r -a cmd <<<"$(target_cmd lavapipe)"
        "${cmd[@]}" --run "${run[@]}" || status=1
      else
        dotnet "$bin/venus-fuzz.dll" "$t" --run "${dirs[@]}" || status=1
      fi
    done
    exit $status ;;
  *) die "usage: fuzz.sh TARGET SECONDS | smoke [SECONDS] | regress   (targets: ${targets[*]})" ;;
esac
