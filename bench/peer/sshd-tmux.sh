#!/usr/bin/env bash
# sshd-tmux.sh — measures the classic alternative to termhost on this
# machine: a private OpenSSH sshd on 127.0.0.1 (its own host key, its own
# config, its own port) and a scratch user with stock dotfiles running tmux.
#
#   sudo bench/peer/sshd-tmux.sh [OUTDIR]        (run from the module root)
#
# It writes OUTDIR/peer-client.json (the same Go-client phases thload runs
# against termhost: first screen of a new and of an existing tmux session,
# key→echo, payload bytes per key, and the OpenSSH client as a whole
# process) and OUTDIR/peer-system.json (memory per connection and per
# session, idle CPU). Put them beside a termhost run with
#
#   go run ./bench/thload -from th.json -compare OUTDIR/peer-client.json,OUTDIR/peer-system.json
#
# Environment: PEER_N (sessions held for memory/CPU, default 50),
# PEER_SAMPLES (first-screen samples, default 50), PEER_SSH_RUNS (OpenSSH
# client runs, default 10), PEER_IDLE (idle CPU window in s, default 10),
# THLOAD (a prebuilt thload binary; default: go build), PEER_THLOAD_FLAGS
# (extra thload flags, e.g. "-quiet 0.3").
#
# Needs root: it creates a user and (if missing) installs openssh-server.
# Everything it creates — the sshd process, the user and its home, its
# tmux server, the client processes, the temp dir — is removed on exit.
set -euo pipefail

# tmux daemonizes: its server and shells are reparented to PID 1, and a
# PID 1 that does not reap (as in some containers) leaves them as zombies.
# Re-run as a child subreaper (prctl PR_SET_CHILD_SUBREAPER, kept across
# exec) so that they are reparented to this script, which reaps them.
if [ -z "${THPEER_SUBREAPER:-}" ] && command -v python3 >/dev/null; then
	export THPEER_SUBREAPER=1
	exec python3 -c 'import ctypes, os, sys; ctypes.CDLL(None).prctl(36, 1, 0, 0, 0); os.execvp("bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

OUTDIR=${1:-.}
N=${PEER_N:-50}
SAMPLES=${PEER_SAMPLES:-50}
SSH_RUNS=${PEER_SSH_RUNS:-10}
IDLE=${PEER_IDLE:-10}
SSHD=/usr/sbin/sshd
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: it creates a scratch user and a private sshd"
[ "$N" -le 1000 ] || die "PEER_N=$N: at most 1000 (each session is an sshd pair, a tmux client and a shell)"
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

if [ ! -x "$SSHD" ]; then
	log "installing openssh-server (the package; its system service is not started)"
	made_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >&2
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
fi
command -v tmux >/dev/null || die "tmux is not installed (apt-get install -y tmux)"
command -v ssh >/dev/null || die "the OpenSSH client is not installed (apt-get install -y openssh-client)"

WORK=$(mktemp -d /tmp/sshd-tmux.XXXXXX)
chmod 755 "$WORK"
USER_NAME=thpeer$$
SSHD_PID=
CLIENT_PIDS=()
MADE_RUN_SSHD=
TMUX_SOCK=

cleanup() {
	set +e
	for pid in "${CLIENT_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	if [ -n "$TMUX_SOCK" ] && [ -S "$TMUX_SOCK" ]; then
		su -s /bin/sh "$USER_NAME" -c "tmux -S '$TMUX_SOCK' kill-server" 2>/dev/null
	fi
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
	if id "$USER_NAME" >/dev/null 2>&1; then
		# The user's processes (shells left by tmux, sshd children) go
		# first, one pid at a time, or userdel refuses.
		for pid in $(ps -o pid= -u "$USER_NAME" 2>/dev/null); do kill "$pid" 2>/dev/null; done
		sleep 0.5
		for pid in $(ps -o pid= -u "$USER_NAME" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		userdel -r "$USER_NAME" 2>/dev/null
	fi
	[ -n "$MADE_RUN_SSHD" ] && rmdir /run/sshd 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port.
PORT=${PEER_PORT:-}
if [ -z "$PORT" ]; then
	for _ in $(seq 50); do
		p=$(shuf -i 20000-29999 -n 1)
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
	done
fi
[ -n "$PORT" ] || die "no free port"

log "scratch user $USER_NAME (stock /etc/skel dotfiles, bash)"
useradd -m -s /bin/bash "$USER_NAME"
usermod -p '*' "$USER_NAME" # no password, but not locked: sshd without PAM refuses locked accounts
USER_UID=$(id -u "$USER_NAME")
TMUX_SOCK=/tmp/tmux-$USER_UID/default

ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/id_ed25519"
mkdir -p "$WORK/keys"
cp "$WORK/id_ed25519.pub" "$WORK/keys/$USER_NAME"
chmod 644 "$WORK/keys/$USER_NAME"
cat >"$WORK/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/ssh_host_ed25519_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/keys/%u
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
MaxStartups 200:30:400
LogLevel ERROR
EOF
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && MADE_RUN_SSHD=1; fi
"$SSHD" -D -f "$WORK/sshd_config" -E "$WORK/sshd.log" &
SSHD_PID=$!
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	sleep 0.05
done
kill -0 "$SSHD_PID" 2>/dev/null || die "sshd did not start: $(cat "$WORK/sshd.log")"
log "sshd pid $SSHD_PID on 127.0.0.1:$PORT ($($SSHD -V 2>&1 | head -1 || true))"

SSH=(ssh -F /dev/null -i "$WORK/id_ed25519" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -p "$PORT")

pss() { awk '/^Pss:/ {s += $2} END {print s + 0}' "$@" 2>/dev/null || echo 0; } # kB, summed
pss_of() { local s=0 p; for p in "$@"; do s=$((s + $(pss "/proc/$p/smaps_rollup"))); done; echo "$s"; }
cpu_of() { local s=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && s=$((s + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat"))); done; echo "$s"; } # ticks
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; }
as_user() { su -s /bin/sh "$USER_NAME" -c "$1"; }

# --- memory per detached session: tmux server growth (and the shells) ---
as_user "tmux new -d -s base -x 80 -y 24"
TMUX_PID=$(as_user "tmux display -p '#{pid}'")
sleep 1
T0=$(pss_of "$TMUX_PID")
log "detached: $N tmux sessions (tmux server pid $TMUX_PID, ${T0} kB PSS)"
for i in $(seq "$N"); do as_user "tmux new -d -s d$i -x 80 -y 24"; done
sleep 2
T1=$(pss_of "$TMUX_PID")
SHELLS=$(children "$TMUX_PID")
SHELL_PSS=$(pss_of $SHELLS)
NSHELL=$(echo "$SHELLS" | wc -w)

# --- memory per attached connection: sshd processes, tmux clients ---
S0=$(pss_of $(children "$SSHD_PID"))
mkfifo "$WORK/hold"
exec 3<>"$WORK/hold"
log "attached: $N ssh connections, each attached to a new tmux session"
for i in $(seq "$N"); do
	TERM=xterm-256color "${SSH[@]}" -tt "$USER_NAME@127.0.0.1" "tmux new -A -s a$i" <"$WORK/hold" >/dev/null 2>&1 &
	CLIENT_PIDS+=($!)
	# Bounded connect concurrency: wait every 10 connects until they are in.
	if [ $((i % 10)) = 0 ]; then
		for _ in $(seq 200); do
			[ "$(as_user "tmux list-clients 2>/dev/null" | wc -l)" -ge "$i" ] && break
			sleep 0.05
		done
	fi
done
for _ in $(seq 400); do
	[ "$(as_user "tmux list-clients 2>/dev/null" | wc -l)" -ge "$N" ] && break
	sleep 0.05
done
CLIENTS=$(as_user "tmux list-clients 2>/dev/null" | wc -l)
sleep 2
CONN_PIDS=$(for p in $(children "$SSHD_PID"); do echo "$p"; children "$p"; done)
S1=$(pss_of $CONN_PIDS)
NSSHD=$(echo "$CONN_PIDS" | grep -c . || true)
TMUX_CLIENTS=$(for p in $CONN_PIDS; do ps -o pid=,comm= --ppid "$p"; done | awk '$2 ~ /^tmux/ {print $1}')
TC_PSS=$(pss_of $TMUX_CLIENTS)
NTC=$(echo "$TMUX_CLIENTS" | grep -c . || true)
T2=$(pss_of "$TMUX_PID")
ALL_SHELLS=$(children "$TMUX_PID")

log "idle: ${IDLE}s window over sshd, tmux server, tmux clients and shells"
IDLE_PIDS="$CONN_PIDS $TMUX_CLIENTS $TMUX_PID $ALL_SHELLS"
C0=$(cpu_of $IDLE_PIDS)
sleep "$IDLE"
C1=$(cpu_of $IDLE_PIDS)

for pid in "${CLIENT_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
wait "${CLIENT_PIDS[@]}" 2>/dev/null || true
CLIENT_PIDS=()
exec 3>&-
as_user "tmux kill-server" || true
# kill-server returns before the server is gone; a client started meanwhile
# would find it dying ("server exited unexpectedly").
for _ in $(seq 100); do [ -e /proc/"$TMUX_PID" ] && [ "$(awk '{print $3}' /proc/"$TMUX_PID"/stat 2>/dev/null)" != Z ] || break; sleep 0.05; done

# kB → KiB per session; ticks are 10 ms.
per() { awk -v a="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", a / n; else print 0 }'; }
TMUX_DET=$(per $((T1 - T0)) "$N")
SHELL_PER=$(per "$SHELL_PSS" "$NSHELL")
SSHD_PER=$(per $((S1 - S0)) "$CLIENTS")
TC_PER=$(per "$TC_PSS" "$NTC")
TMUX_ATT=$(per $((T2 - T1)) "$CLIENTS")
IDLE_PER_1000=$(awk -v t=$((C1 - C0)) -v w="$IDLE" -v n="$CLIENTS" 'BEGIN { printf "%.5f", t / 100 / w * 1000 / (n > 0 ? n : 1) }')
MEM_ATT=$(awk -v a="$SSHD_PER" -v b="$TC_PER" -v c="$TMUX_ATT" -v d="$TMUX_DET" -v e="$SHELL_PER" 'BEGIN { printf "%.2f", a + b + c + d + e }')
MEM_DET=$(awk -v a="$TMUX_DET" -v b="$SHELL_PER" 'BEGIN { printf "%.2f", a + b }')
log "sshd ${SSHD_PER} KiB/conn ($NSSHD processes for $CLIENTS connections), tmux client ${TC_PER} KiB, tmux server +${TMUX_DET} KiB/detached session +${TMUX_ATT} KiB/attached client, shell ${SHELL_PER} KiB, idle ${IDLE_PER_1000} cores/1000"

cat >"$OUTDIR/peer-system.json" <<EOF
{
  "system": "sshd+tmux",
  "sshd": "$($SSHD -V 2>&1 | head -1 || true)",
  "tmux": "$(tmux -V)",
  "sessions": $N,
  "attached_connections": $CLIENTS,
  "metrics": {
    "mem_attached_kib": $MEM_ATT,
    "mem_detached_kib": $MEM_DET,
    "peer_sshd_pss_per_conn_kib": $SSHD_PER,
    "peer_tmux_client_pss_kib": $TC_PER,
    "peer_tmux_server_per_detached_kib": $TMUX_DET,
    "peer_tmux_server_per_attached_client_kib": $TMUX_ATT,
    "peer_shell_pss_kib": $SHELL_PER,
    "idle_cores_per_1000": $IDLE_PER_1000
  }
}
EOF

# --- the Go-client phases and the OpenSSH client, as for termhost ---
THLOAD=${THLOAD:-}
if [ -z "$THLOAD" ]; then
	THLOAD=$WORK/thload
	(cd "$ROOT" && go build -o "$THLOAD" ./bench/thload)
fi
log "first screen, echo and OpenSSH client runs against sshd+tmux"
"$THLOAD" -addr "127.0.0.1:$PORT" -key "$WORK/id_ed25519" -peer-user "$USER_NAME" \
	-peer-command 'tmux new -A -s b{i}' -peer-marker '[b{i}]' -phases first,echo,openssh \
	-samples "$SAMPLES" -reattach "$SAMPLES" -ssh-runs "$SSH_RUNS" ${PEER_THLOAD_FLAGS:-} -json >"$OUTDIR/peer-client.json"
as_user "tmux kill-server" 2>/dev/null || true
log "wrote $OUTDIR/peer-client.json and $OUTDIR/peer-system.json"
