#!/usr/bin/env bash
# Stops what scripts/slurm-up.sh started: the jobs, then slurmd, slurmctld
# and munged by the PIDs in their pid files (never by name), KILL after a
# grace period. Idempotent.
set -uo pipefail
command -v scancel >/dev/null && timeout 10 scancel --user="$(id -un)" 2>/dev/null
stop() {
    local pidfile=$1
    [ -s "$pidfile" ] || return 0
    local pid
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        # Gone, or a zombie (its state letter is Z).
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
        [ "$state" = gone ] || [ "$state" = Z ] && return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
}
stop /run/slurmd.pid
stop /run/slurmctld.pid
stop /run/munge/munged.pid
echo "slurm-down: stopped"
