#!/usr/bin/env bash
# Runs the real failover test (npm run test:ha) N times in a row (default 10) and records each
# run's outcome and the machine's load in bench/results/ha-loop.json (issue 14: the test must be
# reliable, also with a CPU-heavy job beside it). Stops at the first failed run and keeps its log.
# Usage (root): bash scripts/ha-loop.sh [runs]
set -euo pipefail
runs="${1:-10}"
cd "$(dirname "$0")/.."
mkdir -p build/results bench/results
entries=()
passed=0
for run in $(seq 1 "$runs"); do
    load="$(cut -d' ' -f1 /proc/loadavg)"
    started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    log="build/results/ha-loop-${run}.log"
    if flock /tmp/k8s-lab-root-tests.lock npm run --silent test:ha >"$log" 2>&1; then
        outcome=passed
        passed=$((passed + 1))
    else
        outcome=failed
    fi
    # The failing scenarios' own lines ("HA FAIL f (...): why") go into the record: build/ is not
    # kept. A run that never got to the scenarios records its first compiler error instead (the
    # test compiles the working tree: edits during a loop break it; run the loop on a clean copy).
    failures="$({ grep '^# HA FAIL' "$log" || grep -m1 'error TS' "$log" | sed 's/^/# build failed: /' || true; } | sed 's/^# //' | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.stringify(s.split("\n").filter(Boolean))))')"
    entries+=("{\"run\": ${run}, \"started\": \"${started}\", \"loadAverageAtStart\": ${load}, \"outcome\": \"${outcome}\", \"failedScenarios\": ${failures}}")
    echo "ha-loop: run ${run}/${runs} ${outcome} (load ${load} at start; log ${log})"
    [ "$outcome" = passed ] || break
done
{
    echo "{"
    echo "  \"node\": \"$(node --version)\", \"cpus\": $(nproc), \"runs\": ${runs}, \"passed\": ${passed},"
    echo "  \"results\": ["
    last=$((${#entries[@]} - 1))
    for i in "${!entries[@]}"; do
        if [ "$i" -lt "$last" ]; then echo "    ${entries[$i]},"; else echo "    ${entries[$i]}"; fi
    done
    echo "  ]"
    echo "}"
} >bench/results/ha-loop.json
echo "ha-loop: ${passed}/${runs} passed; written to bench/results/ha-loop.json"
[ "$passed" -eq "$runs" ]
