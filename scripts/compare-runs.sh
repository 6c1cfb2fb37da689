#!/usr/bin/env bash
# Compares two experiment run folders (e.g. before and after a change, or a serial run and a sharded one):
#   scripts/compare-runs.sh RUN_A RUN_B
# - model, code, trigger, label and poison files (*.hbm, *.npy, *.bin, trigger.png, poison.json): byte for byte (cmp);
# - results.json, every result.json (attack rows and defense cells) and config.resolved.json: as JSON without the keys
#   that record time, cost, sessions or the machine (seconds, wallSeconds, wallSecondsThisSession, sessions,
#   *WallSeconds, *CpuSeconds, defenseMatrixToExperiment*, defenseCells*, machine, finished) and the note on work shared
#   between defense runs (sharedWork: which process ran first);
# - a file present in one folder only is a difference. Not compared: units/ (claim and done files of shards: hosts,
#   pids, times), the folder lock (.hashbd.lock*), sessions/ (RunSessions: times), results.md and report.html (they
#   print the timings), *.log.
# Prints one line per difference and a summary; exit 0 when the folders agree, 1 otherwise, 2 on a usage error.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 RUN_A RUN_B" >&2; exit 2; }
a="${1%/}"; b="${2%/}"
for d in "$a" "$b"; do [ -d "$d" ] || { echo "$d: not a folder" >&2; exit 2; }; done

list() { (cd "$1" && find . -type f ! -path './units/*' ! -path '*/units/*' ! -name '.hashbd.lock*' ! -path './sessions/*' ! -name '*.log' \
  ! -name 'results.md' ! -name 'report.html' ! -name '*.tmp' | sed 's|^\./||' | LC_ALL=C sort); }

normalize() {
  python3 - "$1" <<'EOF'
import json, re, sys
drop = re.compile(r'^(seconds|wallSeconds|wallSecondsThisSession|sessions|.*WallSeconds|.*CpuSeconds|defenseMatrixToExperiment.*|defenseCells.*|machine|finished|sharedWork)$', re.I)
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if not drop.match(k)}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
with open(sys.argv[1]) as f:
    print(json.dumps(strip(json.load(f)), sort_keys=True, indent=1))
EOF
}

bytes=0; jsons=0; diffs=0
while read -r rel; do
  if [ ! -f "$b/$rel" ]; then echo "only in $a: $rel"; diffs=$((diffs + 1)); continue; fi
  case "$rel" in
    *.json)
      if ! diff -q <(normalize "$a/$rel") <(normalize "$b/$rel") > /dev/null; then
        echo "differs (JSON without timings): $rel"; { diff <(normalize "$a/$rel") <(normalize "$b/$rel") || true; } | head -n 10 | sed 's/^/    /'
        diffs=$((diffs + 1))
      fi
      jsons=$((jsons + 1));;
    *)
      if ! cmp -s "$a/$rel" "$b/$rel"; then echo "differs (bytes): $rel"; diffs=$((diffs + 1)); fi
      bytes=$((bytes + 1));;
  esac
done < <(list "$a")
while read -r rel; do
  [ -f "$a/$rel" ] || { echo "only in $b: $rel"; diffs=$((diffs + 1)); }
done < <(list "$b")

echo "compared $bytes files byte for byte and $jsons JSON files without timings: $diffs difference(s)"
[ "$diffs" -eq 0 ]
