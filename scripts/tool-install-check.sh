#!/usr/bin/env bash
# Packs hashbd as a .NET tool, installs it into an empty folder from the package folder, and runs it: --help, then a
# short train + evaluate on synthetic data. Prints one closing line "tool-install-check: PASSED (...)" or
# "tool-install-check: FAILED: <step>" and exits 0 or 1. Run by .ci/run before the test suite (a pack of the ~500 MB
# libtorch native files takes a minute or two, too long for the xunit suite).
# Usage: bash scripts/tool-install-check.sh [WORK_DIR]   (default: a new temporary folder, removed afterwards)
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
if [ $# -ge 1 ]; then work="$1"; keep=1; mkdir -p "$work"; else work="$(mktemp -d)"; keep=0; fi
pkg="$work/pkg"; tool="$work/tool"; runs="$work/runs"
rm -rf "$pkg" "$tool" "$runs"
cleanup() { [ $keep -eq 0 ] && rm -rf "$work"; }
trap cleanup EXIT
# has TEXT PATTERN: whether TEXT holds a line matching PATTERN (no pipe into grep -q, which pipefail would trip).
has() { grep -q -- "$2" <<<"$1"; }
fail() { echo "tool-install-check: FAILED: $1"; exit 1; }
seconds() { date +%s; }
# Package contents (a .nupkg is a zip): unzip where present, else Python's zipfile.
zip_list() { if command -v unzip >/dev/null; then unzip -l "$1"; else python3 -m zipfile -l "$1"; fi; }
zip_cat() { if command -v unzip >/dev/null; then unzip -p "$1" "$2"; else python3 -c 'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())' "$1" "$2"; fi; }

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)
[ -n "$version" ] || fail "no <Version> in Directory.Build.props"

t0=$(seconds)
dotnet pack -c Release -o "$pkg" -v q -nologo || fail "dotnet pack -c Release -o $pkg"
t1=$(seconds)
nupkg="$pkg/hashbd.$version.nupkg"
[ -f "$nupkg" ] || fail "no $nupkg after dotnet pack"
[ -f "$pkg/HashBackdoor.$version.nupkg" ] || fail "no library package HashBackdoor.$version.nupkg after dotnet pack"
has "$(zip_list "$pkg/HashBackdoor.$version.nupkg")" 'lib/net10.0/HashBackdoor.xml' || fail "the library package has no XML documentation"
# A tool package carries its dependencies itself: its nuspec must list none (nothing is restored at install time).
has "$(zip_cat "$nupkg" hashbd.nuspec)" '<dependency' && fail "the tool package declares dependencies"
has "$(zip_list "$nupkg")" 'tools/net10.0/any/runtimes/linux-x64/native/libtorch_cpu.so' || fail "the tool package does not carry libtorch"

# The command of the README (version pinned so that no other package of that name on a feed can be chosen).
dotnet tool install --tool-path "$tool" --add-source "$pkg" hashbd --version "$version" || fail "dotnet tool install --tool-path $tool --add-source $pkg hashbd"
t2=$(seconds)
lib=$(find "$tool/.store" -name libLibTorchSharp.so | head -1)
[ -n "$lib" ] || fail "libLibTorchSharp.so is not in the installed tool"
has "$(readelf -V "$lib")" 'GLIBCXX_3.4.32 *Flags: WEAK' || fail "$lib: GLIBCXX_3.4.32 is not marked weak"

has "$("$tool/hashbd" --help)" 'experiment' || fail "$tool/hashbd --help"
reported=$("$tool/hashbd" --version); [ "${reported%%+*}" = "$version" ] || fail "$tool/hashbd --version is $reported, not $version"
data=synthetic:12:3:12
"$tool/hashbd" train --dataset $data --query-per-class 4 --train-per-class 8 --bits 16 --loss pairwise-k --epochs 1 \
  --batch-size 4 --seed 0 --out "$runs/train" || fail "$tool/hashbd train"
"$tool/hashbd" evaluate --model "$runs/train" --topk 10 --out "$runs/eval" || fail "$tool/hashbd evaluate"
map=$(sed -n 's/^  "mAP": \([0-9.]*\),$/\1/p' "$runs/eval/metrics.json")
[ -n "$map" ] || fail "$runs/eval/metrics.json has no mAP"
t3=$(seconds)
size=$(du -m "$nupkg" | cut -f1)
echo "tool-install-check: PASSED (hashbd $version: pack $((t1 - t0)) s, package $size MB, install $((t2 - t1)) s, --help + train + evaluate $((t3 - t2)) s, mAP@10 $map%)"
