#!/usr/bin/env bash
# scripts/scale-out.sh start [--slurm | --no-slurm] | stop
#
# start: PostgreSQL, Ceph's S3 gateway (RGW), a two-node Slurm cluster (slurmctld, two `slurmd -N`,
#   slurmrestd, munged) and two API nodes on this machine, in the background (about 30 s), each node
#   with its own AIAAS_HOME under .scale-out/ (they share only the database and the bucket). Prints
#   and writes .scale-out/env: NODE_A, NODE_B (the nodes' URLs), ADMIN_KEY, and the shared settings
#   (AIAAS_DATABASE_URL, AIAAS_BLOB_URL, AIAAS_S3_*, AWS_*, AIAAS_EXECUTOR, AIAAS_SLURM_*). Logs: .scale-out/*.log.
#   Slurm comes up when it can run here (its packages installed, running as root); otherwise jobs run
#   on the API nodes' own workers and the log says why. --slurm: fail instead; --no-slurm: never Slurm.
# stop: stops the nodes and the engines; their data goes with them (temporary folders).
#
# Needs Debian's postgresql and radosgw ceph-mon ceph-osd ceph-common, and for Slurm slurm-wlm
# slurmrestd slurm-wlm-jwt-plugin munge (see README "Scale out").
# AIAAS_SCALE_OUT_DIR moves .scale-out.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${AIAAS_SCALE_OUT_DIR:-.scale-out}"

case "${1:-}" in
  start)
    shift
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "already running (pid $(cat "$dir/pid")); scripts/scale-out.sh stop first" >&2
      exit 1
    fi
    [ -f dist/src/interfaces/testing/scale-out-main.js ] || npm run build --silent
    rm -rf "$dir"
    mkdir -p "$dir"
    nohup node dist/src/interfaces/testing/scale-out-main.js "$dir" "$@" > "$dir/scale-out.log" 2>&1 &
    echo $! > "$dir/pid"
    # Up when env is written; a start that fails says why (its log) and leaves nothing running.
    until [ -f "$dir/env" ]; do
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        cat "$dir/scale-out.log" >&2
        exit 1
      fi
      sleep 0.2
    done
    grep -E '^export (NODE_|AIAAS_DATABASE_URL|AIAAS_BLOB_URL|AIAAS_EXECUTOR)' "$dir/env"
    ;;
  stop)
    [ -f "$dir/pid" ] || { echo "not running" >&2; exit 0; }
    pid="$(cat "$dir/pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for p in "$pid" $(cat "$dir/nodes.pid" 2>/dev/null); do
      while kill -0 "$p" 2>/dev/null; do sleep 0.2; done
    done
    rm -f "$dir/pid" "$dir/nodes.pid" "$dir/env"
    echo "stopped"
    ;;
  *)
    echo "usage: scripts/scale-out.sh start [--slurm | --no-slurm] | stop" >&2
    exit 2
    ;;
esac
