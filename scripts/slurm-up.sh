#!/usr/bin/env bash
# A one-node SLURM cluster on this machine for the SLURM tests (and anyone
# trying `actbench slurm --submit` locally): Debian's slurmctld, slurmd,
# slurm-client and munge, started by hand (no systemd), as root. Idempotent:
# does nothing when the node already answers. Stop it with scripts/slurm-down.sh.
set -euo pipefail

if command -v sinfo >/dev/null && timeout 5 scontrol ping 2>/dev/null | grep -q UP \
    && timeout 5 sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mix|alloc'; then
    echo "slurm-up: already up"
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "slurm-up: needs root (it installs packages and starts daemons)" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    echo "slurm-up: installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi

node=$(hostname -s)
cpus=$(nproc)
# A little below the machine's memory, in MB, as slurmd -C would report it.
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
KillWait=5
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

# munged runs as the munge user, with its key 0600 in a 0700 folder.
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create >/dev/null 2>&1 || /usr/sbin/mungekey --create
fi
chown -R munge:munge /etc/munge && chmod 0700 /etc/munge && chmod 0600 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
if ! timeout 5 sh -c 'munge -n | unmunge' >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do timeout 5 sh -c 'munge -n | unmunge' >/dev/null 2>&1 && break; sleep 0.1; done
fi

running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/slurmctld.pid || slurmctld -c
running /run/slurmd.pid || slurmd
for _ in $(seq 100); do
    if timeout 5 scontrol ping 2>/dev/null | grep -q UP && timeout 5 sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mix|alloc'; then
        echo "slurm-up: node $node up ($cpus CPUs)"
        exit 0
    fi
    sleep 0.2
done
echo "slurm-up: the node did not come up; see /var/log/slurm/" >&2
exit 1
