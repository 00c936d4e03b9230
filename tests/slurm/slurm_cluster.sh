#!/usr/bin/env bash
# A throw-away single-node Slurm on this host, for running hpxpy under a real `srun`.
#
#   tests/slurm/slurm_cluster.sh up DIR     # munged + slurmctld + slurmd, state in DIR
#   SLURM_CONF=DIR/slurm.conf srun -n 4 python prog.py
#   tests/slurm/slurm_cluster.sh down DIR   # stop the daemons this script started
#   tests/slurm/slurm_cluster.sh install    # apt-get install slurm-wlm munge (root)
#
# Needs root: slurmd starts jobs as any user, and munged/slurmd run as root here. Nothing
# outside DIR is written (own munge key and socket, own ports chosen free at start-up), so
# it does not disturb a Slurm or munge already on the machine. Bring-up takes ~5 s.
# MpiDefault=pmi2: a plain `srun -n 4` gives every task the PMI store hpxpy meets through.
set -euo pipefail

usage() { echo "usage: $0 install | up DIR | down DIR" >&2; exit 2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

up() {
    local dir=$1
    for tool in munged slurmctld slurmd srun; do
        command -v "$tool" >/dev/null || {
            echo "$0: $tool not found: run '$0 install' (apt-get, as root)" >&2; exit 3; }
    done
    [ "$(id -u)" -eq 0 ] || { echo "$0: slurmd and munged must run as root" >&2; exit 3; }
    mkdir -p "$dir"/{state,spool,log}
    dir=$(cd "$dir" && pwd)
    local host cpus
    host=$(hostname -s)
    cpus=$(nproc)
    dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$dir/munge.key"
    munged --force --key-file="$dir/munge.key" --socket="$dir/munge.socket" \
        --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge.seed"
    cat >"$dir/slurm.conf" <<EOF
ClusterName=hpxpytest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=pmi2
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$((cpus > 8 ? cpus : 8)) State=UNKNOWN
PartitionName=hpxpy Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
EOF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -i -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    # Ready when the node takes jobs.
    local i
    for i in $(seq 1 60); do
        if timeout 5 sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
            echo "$dir/slurm.conf"
            return 0
        fi
        sleep 0.5
    done
    echo "$0: the Slurm node never became idle; logs in $dir/log" >&2
    timeout 5 sinfo >&2 || true
    down "$dir"
    exit 1
}

down() {
    local dir=$1 pidfile pid
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

case "${1:-}" in
    install) apt-get update -q && apt-get install -y -q slurm-wlm munge ;;
    up) [ $# -eq 2 ] || usage; up "$2" ;;
    down) [ $# -eq 2 ] || usage; down "$2" ;;
    *) usage ;;
esac
