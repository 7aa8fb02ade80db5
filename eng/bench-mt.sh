#!/usr/bin/env bash
# How guest ICDs scale with an app's threads, all in one run on the chroot's lavapipe: our ICD and
# Mesa 25.0.7's venus guest on venus-host (--isolation thread), and native lavapipe. Each runs
# bench/clients/mtbench.c (T threads on one device and queue: an app-like unit of allocate, map,
# write, dispatch, submit, wait, read back, free; a round-trip row; an allocate+free row) RUNS times,
# round-robin; prints a Markdown table of medians (rows: units/s per T and the scaling ratio; columns:
# driver / host).
#
#   bash eng/bench-mt.sh [RUNS]                 (default 3; or MT_RUNS)
#
# Environment:
#   MT_RUNS      mtbench runs per combination (default 3)
#   MT_ARGS      mtbench arguments (default "--threads 1,2,4,8 --seconds 1")
#   MT_TIMEOUT   seconds one run may take before it counts as failed (default 120)
#   MT_COMBOS    comma-separated subset of: ours-host ours-serial-host ours-rings-host ours-workers
#                ours-base-host mesa-host native (default: ours-host,ours-serial-host,mesa-host,native,
#                plus ours-base-host when MT_BASE is set)
#   MT_BASE      another checkout of this repository (e.g. `git worktree add /tmp/base <commit>`): its
#                ICD (eng/icd.sh install) on its own venus-host (eng/host.sh serve) is the ours-base-host
#                column, "ours before" measured in the same run
#
# ours-serial-host is our ICD with VENUS_PERF=serial_calls (a call keeps the instance ring's lock over
# its wait and slow calls stay on it: the call path before issue 12's thread work); ours-rings-host is
# VENUS_PERF=thread_rings (every call with a reply through a call ring of its own); ours-workers is
# our ICD on a second venus-host in its default mode (a worker process per client). Per-run outputs
# and host logs: artifacts/bench-mt/<time>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
die() { echo "bench-mt.sh: $*" >&2; exit 1; }
note() { echo "bench-mt.sh: $*" >&2; }

runs="${1:-${MT_RUNS:-3}}"
tmo="${MT_TIMEOUT:-120}"
args="${MT_ARGS:---threads 1,2,4,8 --seconds 1}"
base="${MT_BASE:-}"
default_combos="ours-host,ours-serial-host,mesa-host,native"
[ -z "$base" ] || default_combos="ours-host,ours-serial-host,ours-base-host,mesa-host,native"
combos="${MT_COMBOS:-$default_combos}"
for n in "$runs" "$tmo"; do
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || die "RUNS and MT_TIMEOUT must be positive numbers"
done
IFS=',' read -r -a combo_list <<<"$combos"
for c in "${combo_list[@]}"; do
  case "$c" in ours-host|ours-serial-host|ours-rings-host|ours-workers|ours-base-host|mesa-host|native) ;;
    *) die "unknown combination '$c' in MT_COMBOS" ;; esac
done
if [[ ",$combos," == *,ours-base-host,* ]]; then
  [ -n "$base" ] || die "ours-base-host needs MT_BASE (another checkout)"
  [ -f "$base/eng/icd.sh" ] && [ -f "$base/eng/host.sh" ] || die "MT_BASE=$base is not a checkout of this repository"
  base="$(cd "$base" && pwd)"
fi

echo "command: bash eng/bench-mt.sh $*  (MT_RUNS=$runs MT_TIMEOUT=$tmo MT_ARGS='$args' MT_COMBOS=$combos MT_BASE=${base:-none})"
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ has uncommitted changes)')$([ -z "$base" ] || echo "; base: $base at $(git -C "$base" rev-parse --short HEAD 2>/dev/null || echo '?')"); $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

out="$root/artifacts/bench-mt/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
P="$(bash eng/peers.sh ensure)"

# ---- the client, built in the chroot (one directory per checkout) ----
cdir="/tmp/mtbench-$(printf %s "$root" | md5sum | cut -c1-8)"
mkdir -p "$P$cdir"
cp bench/clients/mtbench.c bench/clients/icdbench.comp "$P$cdir/"
chroot "$P" sh -c "cd $cdir && gcc -std=c11 -O2 -Wall -Wextra -o mtbench mtbench.c -lvulkan -lpthread && glslangValidator -V -o icdbench.spv icdbench.comp >/dev/null" \
  >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; die "building mtbench in the chroot failed"; }

# ---- our ICDs ----
install_icd() { # CHECKOUT LOG: prints the manifest as the chroot sees it, or fails with the reason
  local dir="$1" log="$2" m
  if bash "$dir/eng/icd.sh" install >"$log.out" 2>"$log"; then
    m="$(tail -n 1 "$log.out")"
    [ -f "$P$m" ] || { echo "eng/icd.sh install printed '$m', which the chroot lacks"; return 1; }
    echo "$m"
  else
    echo "eng/icd.sh install failed: $(grep -v '^\s*$' "$log" | tail -n 1 | cut -c1-160)"; return 1
  fi
}
manifest="" ours_fail="" base_manifest="" base_fail=""
if [[ ",$combos," == *,ours-host,* || ",$combos," == *,ours-serial-host,* || ",$combos," == *,ours-rings-host,* || ",$combos," == *,ours-workers,* ]]; then
  note "installing our ICD (eng/icd.sh install; log: $out/icd-install.log)"
  manifest="$(install_icd "$root" "$out/icd-install.log")" || { ours_fail="$manifest"; note "our ICD: $ours_fail"; }
fi
if [[ ",$combos," == *,ours-base-host,* ]]; then
  note "installing the base checkout's ICD ($base; log: $out/base-icd-install.log)"
  base_manifest="$(install_icd "$base" "$out/base-icd-install.log")" || { base_fail="$base_manifest"; note "base ICD: $base_fail"; }
fi

# ---- the hosts, on fresh sockets; stopped on exit ----
hsock="/tmp/mtbench-$$-host.sock" wsock="/tmp/mtbench-$$-workers.sock" bsock="/tmp/mtbench-$$-base.sock"
pids=()
stop_hosts() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  for s in "$hsock" "$wsock" "$bsock"; do
    [ -f "$P$s.log" ] && cp "$P$s.log" "$out/$(basename "$s").log" 2>/dev/null
    rm -f "$P$s" "$P$s.log"
  done
  return 0
}
trap stop_hosts EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
host_fail="" workers_fail=""
if [[ ",$combos," == *,ours-host,* || ",$combos," == *,ours-serial-host,* || ",$combos," == *,ours-rings-host,* || ",$combos," == *,mesa-host,* ]]; then
  note "starting venus-host --isolation thread at $hsock"
  if pid="$(bash eng/host.sh serve "$hsock" --isolation thread 2>"$out/host-start.log")"; then pids+=("$pid")
  else host_fail="venus-host did not start: $(tail -n 1 "$out/host-start.log")"; note "$host_fail"; fi
fi
if [[ ",$combos," == *,ours-workers,* ]]; then
  note "starting venus-host (default: worker processes) at $wsock"
  if pid="$(bash eng/host.sh serve "$wsock" 2>"$out/workers-start.log")"; then pids+=("$pid")
  else workers_fail="venus-host (workers) did not start: $(tail -n 1 "$out/workers-start.log")"; note "$workers_fail"; fi
fi
if [[ ",$combos," == *,ours-base-host,* && -z "$base_fail" ]]; then
  note "starting the base checkout's venus-host --isolation thread at $bsock"
  if pid="$(bash "$base/eng/host.sh" serve "$bsock" --isolation thread 2>"$out/base-host-start.log")"; then pids+=("$pid")
  else base_fail="the base venus-host did not start: $(tail -n 1 "$out/base-host-start.log")"; note "$base_fail"; fi
fi

label() {
  case "$1" in
    ours-host) echo "ours / venus-host" ;; ours-serial-host) echo "ours, serial calls (before) / venus-host" ;;
    ours-rings-host) echo "ours, thread rings / venus-host" ;; ours-workers) echo "ours / venus-host, worker processes" ;;
    ours-base-host) echo "ours at the base checkout / its venus-host" ;;
    mesa-host) echo "Mesa / venus-host" ;; native) echo "native lavapipe" ;;
  esac
}
combo_env() { # the driver environment of a combination, or the reason it cannot run
  case "$1" in
    ours-host|ours-serial-host|ours-rings-host|mesa-host) [ -z "$host_fail" ] || { echo "$host_fail"; return 1; } ;;
    ours-workers) [ -z "$workers_fail" ] || { echo "$workers_fail"; return 1; } ;;
  esac
  case "$1" in
    ours-base-host) [ -z "$base_fail" ] || { echo "$base_fail"; return 1; }
                    echo "VK_DRIVER_FILES=$base_manifest VN_DEBUG=vtest VTEST_SOCKET_NAME=$bsock" ;;
    ours-*) [ -z "$ours_fail" ] || { echo "$ours_fail"; return 1; }
            case "$1" in ours-serial-*) echo -n "VENUS_PERF=serial_calls " ;; ours-rings-*) echo -n "VENUS_PERF=thread_rings " ;; esac
            case "$1" in ours-workers) echo "VK_DRIVER_FILES=$manifest VN_DEBUG=vtest VTEST_SOCKET_NAME=$wsock" ;;
                         *) echo "VK_DRIVER_FILES=$manifest VN_DEBUG=vtest VTEST_SOCKET_NAME=$hsock" ;; esac ;;
    mesa-host) echo "VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json VN_DEBUG=vtest VTEST_SOCKET_NAME=$hsock" ;;
    native) echo "VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json" ;;
  esac
}
rc=0
run() { # ENV FILE: one mtbench run in the chroot
  local denv="$1" file="$2"
  rc=0
  # shellcheck disable=SC2086 # denv is a list of NAME=VALUE words, args a list of arguments
  timeout -k 5 "$((tmo + 10))" chroot "$P" env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp NODEVICE_SELECT=1 \
    $denv "$cdir/mtbench" "$cdir/icdbench.spv" --timeout "$tmo" $args >"$file" 2>"$file.err" || rc=$?
}
reason() {
  local file="$1" r
  r="$(grep '^mtbench: ' "$file" 2>/dev/null | grep -v '^mtbench: ok$' | tail -n 1 | sed 's/^mtbench: //')"
  if [ -z "$r" ]; then
    case "$rc" in 124|137) r="no answer within $((tmo + 10)) s, killed" ;;
      *) r="exit status $rc: $(grep -v '^\s*$' "$file.err" 2>/dev/null | tail -n 1 | cut -c1-120)" ;; esac
  fi
  echo "$r"
}

declare -A fail nfail
for c in "${combo_list[@]}"; do
  nfail[$c]=0; : >"$out/$c.metrics"
  if ! e="$(combo_env "$c")"; then fail[$c]="$e"; fi
done
for r in $(seq 1 "$runs"); do
  note "run $r of $runs"
  for c in "${combo_list[@]}"; do
    [ -z "${fail[$c]:-}" ] || continue
    f="$out/$c.run$r.txt"
    run "$(combo_env "$c")" "$f"
    if [ "$rc" = 0 ] && grep -q '^mtbench: ok$' "$f"; then
      grep '^metric ' "$f" | cut -d' ' -f2- >>"$out/$c.metrics"
    else
      nfail[$c]=$(( ${nfail[$c]} + 1 )); reason "$f" >"$out/$c.lastfail"
      note "$(label "$c") run $r: $(cat "$out/$c.lastfail")"
    fi
  done
done

# ---- the table ----
median() { sort -g | awk '{a[NR]=$1} END { if (NR == 0) exit; m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
  if (m >= 100) printf "%.0f\n", m; else if (m >= 10) printf "%.1f\n", m; else printf "%.2f\n", m }'; }
cell() {
  local c="$1" m="$2"
  if [ -n "${fail[$c]:-}" ]; then echo "fails: ${fail[$c]}"; return; fi
  if [ "${nfail[$c]}" -gt 0 ] && [ ! -s "$out/$c.metrics" ]; then echo "fails: $(cat "$out/$c.lastfail")"; return; fi
  local v; v="$(awk -v m="$m" '$1 == m { print $2 }' "$out/$c.metrics" | median)"
  echo "${v:--}"
}
metrics="$(cat "$out"/*.metrics | awk '{print $1}' | awk '!seen[$0]++')"
echo
echo "Medians of $runs mtbench runs per column ($args); units per second of all threads together, and the"
echo "ratio to T=1 of the same column"
echo
header="| metric |" sep="| --- |"
for c in "${combo_list[@]}"; do header="$header $(label "$c") |"; sep="$sep ---: |"; done
echo "$header"; echo "$sep"
for m in $metrics; do
  line="| \`$m\` |"
  for c in "${combo_list[@]}"; do line="$line $(cell "$c" "$m") |"; done
  echo "$line"
done
for c in "${combo_list[@]}"; do
  [ "${nfail[$c]}" -eq 0 ] || echo "- $(label "$c"): ${nfail[$c]} of $runs runs failed, last: $(cat "$out/$c.lastfail")"
done
echo
echo "Per-run outputs and host logs: ${out#"$root"/}"
