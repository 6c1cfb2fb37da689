#!/usr/bin/env bash
# Runs the whole test suite and prints the plain line "N passed, N failed" computed from the TRX test results.
set -uo pipefail
cd "$(dirname "$0")/.."
# Idle libtorch/OpenMP worker threads sleep instead of spinning: on 2 cores, spinning workers starve the other thread.
export OMP_WAIT_POLICY=PASSIVE
results="$(pwd)/TestResults"
rm -rf "$results"
dotnet test tests/HashBackdoor.Tests/HashBackdoor.Tests.csproj -c Release \
  --logger "trx;LogFileName=tests.trx" --results-directory "$results" "$@"
rc=$?
trx="$results/tests.trx"
if [ ! -f "$trx" ]; then
  echo "no test results were written (build failure?)"
  echo "0 passed, 1 failed"
  exit 1
fi
passed=$(grep -o '<UnitTestResult [^>]*outcome="Passed"' "$trx" | wc -l)
failed=$(grep -o '<UnitTestResult [^>]*outcome="Failed"' "$trx" | wc -l)
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]
