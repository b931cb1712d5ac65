# tests/lab/lab.sh - several real libvirtd "hosts" on this machine, in namespaces (sourced).
#
# Facts behind it: ../shared/LAB.md. One lab host = its own network namespace (10.77.0.I/24
# on a bridge that lives in a namespace of its own) plus mount, UTS and pid namespaces whose
# pid 1 is tests/lab/host-init.sh: it bind-mounts the host's private libvirt directories and
# runs a real libvirtd (TCP, no auth: lab only) that starts real QEMU (TCG) domains. The
# scheduler side runs in a "ctl" namespace (10.77.0.254) on the same bridge. Nothing here
# touches the root network namespace or any address outside 10.77.0.0/24.
#
# Settings (environment): LAB_NAME (namespace prefix, default vlab; keep it short),
# LAB_DIR (state directory, created), LAB_NET (first three octets, default 10.77.0).
#
# Functions: lab_prepare; lab_up N; lab_down; lab_ip I; lab_host_pid I; lab_exec I CMD...;
# lab_ctl_exec CMD...; lab_spawn I LOG CMD...; lab_ctl_spawn LOG CMD...; lab_virsh I ARGS...;
# lab_tiny_xml NAME [MIB]; lab_create I NAME; lab_migrate NAME FROM TO;
# lab_restart_libvirtd I; lab_kill_libvirtd I; lab_start_libvirtd I; lab_crash I; lab_boot I;
# lab_partition I; lab_heal I; lab_running_copies NAME; lab_freeze I; lab_thaw I;
# lab_host_pids I; lab_copycount_start FILE; lab_copycount_stop; lab_copycount_once;
# lab_copies NAME; lab_wait_copies NAME N TIMEOUT_S; lab_pet_file I;
# lab_watchdog_start I FILE W; lab_watchdog_stop I. The copy counter and the watchdog are
# build/bin programs (VMSCHED_BIN, default the checkout's build/bin; see README.md here).
# Every process is started and stopped by pid; lab_down is idempotent and also cleans up
# after a lab whose test died.

LAB_NAME=${LAB_NAME:-vlab}
LAB_DIR=${LAB_DIR:-/tmp/$LAB_NAME}
LAB_NET=${LAB_NET:-10.77.0}
LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_CAPS_CACHE=/var/cache/vmsched-lab/qemu-capabilities

lab_log() { echo "lab: $*" >&2; }

lab_ip() { echo "$LAB_NET.$1"; }

# ---------------------------------------------------------------------------------------
# One-time machine preparation

# lab_prepare - checks the tools, creates what libvirtd needs without systemd, probes QEMU's
# capabilities once (cached under /var/cache/vmsched-lab). Fails with the fix when it can't.
lab_prepare() {
    if [ "$(id -u)" != 0 ]; then lab_log "must run as root (namespaces, libvirtd)"; return 1; fi
    local tool missing=""
    for tool in libvirtd virsh qemu-system-x86_64 ip nft unshare nsenter taskset; do
        command -v "$tool" > /dev/null || missing="$missing $tool"
    done
    if [ -n "$missing" ]; then
        lab_log "missing:$missing - run 'make deps' (apt-get install libvirt-daemon" \
            "libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 iproute2 nftables util-linux)"
        return 1
    fi
    # libvirtd's QEMU driver refuses to start without these, even with user = "root".
    getent group libvirt-qemu > /dev/null || groupadd -r libvirt-qemu || return 1
    getent group kvm > /dev/null || groupadd -r kvm || return 1
    getent passwd libvirt-qemu > /dev/null \
        || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu || return 1
    # Mount points for the per-host bind mounts.
    mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
    lab_probe_caps
}

# lab_probe_caps - fills $LAB_CAPS_CACHE from one throw-away host, unless it is current.
lab_probe_caps() {
    local stamp
    stamp=$(stat -c '%Y %s' "$(command -v qemu-system-x86_64)" "$(command -v libvirtd)" | tr '\n' ' ')
    if [ -f "$LAB_CAPS_CACHE/stamp" ] && [ "$(cat "$LAB_CAPS_CACHE/stamp")" = "$stamp" ] \
        && ls "$LAB_CAPS_CACHE"/*.xml > /dev/null 2>&1; then
        return 0
    fi
    lab_log "probing QEMU capabilities once (takes a few seconds)"
    local saved_name=$LAB_NAME saved_dir=$LAB_DIR rc=0
    LAB_NAME=${LAB_NAME}p LAB_DIR=$LAB_DIR.probe
    lab_down > /dev/null 2>&1
    if lab_up 1 && lab_virsh 1 domcapabilities --virttype qemu > /dev/null; then
        mkdir -p "$LAB_CAPS_CACHE"
        rm -f "$LAB_CAPS_CACHE"/*.xml
        cp "$LAB_DIR/h1/var/cache/libvirt/qemu/capabilities/"*.xml "$LAB_CAPS_CACHE/" \
            && echo "$stamp" > "$LAB_CAPS_CACHE/stamp" || rc=1
    else
        lab_log "the probe host failed; its libvirtd log:"
        tail -n 20 "$LAB_DIR/h1/var/log/libvirt/libvirtd.log" >&2
        rc=1
    fi
    lab_down > /dev/null 2>&1
    LAB_NAME=$saved_name LAB_DIR=$saved_dir
    return $rc
}

# ---------------------------------------------------------------------------------------
# Bringing hosts up and down

lab_ns() { echo "$LAB_NAME-h$1"; }
lab_br_ns() { echo "$LAB_NAME-br"; }
lab_ctl_ns() { echo "$LAB_NAME-ctl"; }

# lab_uuid I - a stable, distinct libvirt host uuid per lab host.
lab_uuid() { printf '%08x-7a6c-4000-8000-%012x\n' "$1" "$1"; }

# lab_link NS ADDR - a veth from the bridge namespace into NS with ADDR/24.
lab_link() {
    local ns=$1 addr=$2 port="p${2##*.}"
    ip -n "$(lab_br_ns)" link add "$port" type veth peer name eth0 netns "$ns" || return 1
    ip -n "$(lab_br_ns)" link set "$port" master br0 up || return 1
    ip -n "$ns" addr add "$addr/24" dev eth0 || return 1
    ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up || return 1
    # After a partition, connects must fail in seconds, not minutes.
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_syn_retries=2 net.ipv4.tcp_retries2=5
}

# lab_host_files I - the private /etc, /run, /var dirs and configs of host I.
lab_host_files() {
    local i=$1 dir="$LAB_DIR/h$1" d
    for d in etc/libvirt run/libvirt var/lib/libvirt var/log/libvirt var/cache/libvirt/qemu/capabilities; do
        mkdir -p "$dir/$d"
    done
    cat > "$dir/etc/libvirt/libvirtd.conf" <<CONF
listen_tls = 0
listen_tcp = 1
listen_addr = "$(lab_ip "$i")"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
host_uuid = "$(lab_uuid "$i")"
keepalive_interval = 5
keepalive_count = 5
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
    cat > "$dir/etc/libvirt/qemu.conf" <<CONF
user = "root"
group = "root"
remember_owner = 0
dynamic_ownership = 0
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
migration_address = "$(lab_ip "$i")"
migration_host = "$(lab_ip "$i")"
CONF
    if ls "$LAB_CAPS_CACHE"/*.xml > /dev/null 2>&1; then
        cp "$LAB_CAPS_CACHE"/*.xml "$dir/var/cache/libvirt/qemu/capabilities/"
    fi
}

# lab_start_host I - starts host I's namespaces and init; records its pids.
lab_start_host() {
    local i=$1
    ip netns add "$(lab_ns "$i")" || return 1
    lab_link "$(lab_ns "$i")" "$(lab_ip "$i")" || return 1
    lab_host_files "$i"
    lab_power_on "$i"
}

# lab_power_on I - starts host I's init (pid, mount and UTS namespaces) in its network
# namespace; its /run starts empty, as after a reboot.
lab_power_on() {
    local i=$1 ns dir="$LAB_DIR/h$1" old n
    ns=$(lab_ns "$i")
    #  A host that just crashed may still be dying: its unshare ends only when the kernel
    #  has reaped every process of the old pid namespace (libvirtd, QEMU). Booting before
    #  that, the new libvirtd can find the old one's files and sockets in use.
    old=$(cat "$dir/unshare.pid" 2>/dev/null)
    for n in $(seq 1 200); do
        [ -n "$old" ] && lab_alive "$old" || break
        sleep 0.05
    done
    if [ -n "$old" ] && lab_alive "$old"; then
        lab_log "h$i: the processes of its last boot did not end in 10 s (unshare pid $old)"
        return 1
    fi
    rm -f "$dir/ready"
    rm -rf "${dir:?}/run/libvirt" && mkdir -p "$dir/run/libvirt"
    setsid ip netns exec "$ns" unshare --mount --uts --pid --fork --mount-proc \
        --propagation private -- bash "$LAB_HERE/host-init.sh" "$dir" "h$i" \
        > "$dir/init.log" 2>&1 < /dev/null &
    echo "$!" > "$dir/unshare.pid"
    disown "$!"     # no "Killed" job notices when lab_crash or lab_down end it
}

# lab_init_pid I - pid (in our namespace) of host I's init: the child of its unshare.
lab_init_pid() {
    local upid
    upid=$(cat "$LAB_DIR/h$1/unshare.pid" 2>/dev/null) || return 1
    local child
    child=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null | awk '{print $1}')
    [ -n "$child" ] && echo "$child"
}

# lab_host_pid I - host I's init pid (for nsenter -t).
lab_host_pid() { cat "$LAB_DIR/h$1/init.pid" 2>/dev/null; }

# lab_up N - creates the bridge, the ctl namespace and hosts 1..N; waits until every
# libvirtd answers. Prints the time taken.
lab_up() {
    local n=$1 i started
    started=$(date +%s%N)
    mkdir -p "$LAB_DIR"
    echo "$n" > "$LAB_DIR/count"
    ip netns add "$(lab_br_ns)" || return 1
    ip -n "$(lab_br_ns)" link add br0 type bridge && ip -n "$(lab_br_ns)" link set br0 up || return 1
    ip netns add "$(lab_ctl_ns)" && lab_link "$(lab_ctl_ns)" "$(lab_ip 254)" || return 1
    for i in $(seq 1 "$n"); do lab_start_host "$i" || return 1; done
    local deadline=$(( $(date +%s) + 60 ))
    for i in $(seq 1 "$n"); do lab_wait_host "$i" "$deadline" || return 1; done
    lab_log "$n hosts up in $(( ($(date +%s%N) - started) / 1000000 )) ms"
}

# lab_wait_host I DEADLINE - waits (until DEADLINE, epoch seconds) for host I's init and
# libvirtd; records the init's pid.
lab_wait_host() {
    local i=$1 deadline=$2 pid=""
    until [ -f "$LAB_DIR/h$i/ready" ] && pid=$(lab_init_pid "$i"); do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            lab_log "host h$i did not come up; init log:"; cat "$LAB_DIR/h$i/init.log" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "$pid" > "$LAB_DIR/h$i/init.pid"
    until lab_virsh "$i" version > /dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            lab_log "libvirtd of h$i does not answer; its log:"
            tail -n 20 "$LAB_DIR/h$i/var/log/libvirt/libvirtd.log" >&2
            return 1
        fi
        sleep 0.05
    done
}

# lab_boot I - a crashed host I comes back (empty /run, libvirtd started, no domains).
lab_boot() {
    lab_power_on "$1" && lab_wait_host "$1" $(( $(date +%s) + 30 ))
}

# lab_exec I CMD... - runs CMD inside host I (all its namespaces).
lab_exec() {
    local pid
    pid=$(lab_host_pid "$1") || return 1
    shift
    nsenter -t "$pid" -n -m -u -p -- "$@"
}

# lab_ctl_exec CMD... - runs CMD in the ctl namespace (the scheduler's side of the bridge).
lab_ctl_exec() { ip netns exec "$(lab_ctl_ns)" "$@"; }

# lab_spawn I LOG CMD... - starts CMD in the background inside host I (so it ends with the
# host); records and prints CMD's pid as seen from here (nsenter forks it into the host's pid
# namespace; signalling that pid reaches CMD itself).
lab_spawn() {
    local i=$1 log=$2
    shift 2
    local pid
    pid=$(lab_host_pid "$i") || return 1
    setsid nsenter -t "$pid" -n -m -u -p -- "$@" >> "$log" 2>&1 < /dev/null &
    local outer=$! child="" n
    disown "$outer"
    echo "$outer" >> "$LAB_DIR/spawned"
    for n in $(seq 1 100); do
        child=$(awk '{print $1}' "/proc/$outer/task/$outer/children" 2>/dev/null)
        [ -n "$child" ] && break
        sleep 0.01
    done
    [ -n "$child" ] || { lab_log "cannot start '$*' in h$i"; return 1; }
    echo "$child" >> "$LAB_DIR/spawned"
    echo "$child"
}

# lab_ctl_spawn LOG CMD... - starts CMD in the background in the ctl namespace.
lab_ctl_spawn() {
    local log=$1
    shift
    setsid ip netns exec "$(lab_ctl_ns)" "$@" >> "$log" 2>&1 < /dev/null &
    disown "$!"
    echo "$!" >> "$LAB_DIR/spawned"
    echo "$!"
}

# lab_virsh I ARGS... - virsh against host I's libvirtd (inside the host).
lab_virsh() {
    local i=$1
    shift
    lab_exec "$i" virsh -q -c qemu:///system "$@"
}

# lab_tiny_xml NAME [MIB] - a tiny TCG domain: no disk, no network, 32 MiB by default.
lab_tiny_xml() {
    cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>${2:-32}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <video><model type='none'/></video>
  </devices>
</domain>
XML
}

# lab_create I NAME [MIB] - starts a transient tiny domain on host I.
lab_create() {
    local xml="$LAB_DIR/$2.xml"
    lab_tiny_xml "$2" "${3:-32}" > "$xml"
    lab_exec "$1" virsh -q -c qemu:///system create "$xml" > /dev/null
}

# lab_migrate NAME FROM TO - live peer-to-peer migration between lab hosts.
lab_migrate() {
    lab_exec "$2" virsh -q -c qemu:///system migrate --live --p2p "$1" \
        "qemu+tcp://$(lab_ip "$3")/system"
}

# lab_kill_libvirtd I / lab_start_libvirtd I / lab_restart_libvirtd I - libvirtd only;
# domains keep running and the new daemon re-attaches to them.
lab_kill_libvirtd() {
    local pid
    pid=$(cat "$LAB_DIR/h$1/run/libvirt/libvirtd.pid" 2>/dev/null) || return 1
    lab_exec "$1" kill -TERM "$pid"
    local n
    for n in $(seq 1 100); do
        lab_exec "$1" kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    lab_exec "$1" kill -KILL "$pid"
}
lab_start_libvirtd() {
    lab_exec "$1" taskset -c 0 libvirtd -d --listen -f /etc/libvirt/libvirtd.conf \
        -p /run/libvirt/libvirtd.pid || return 1
    local n
    for n in $(seq 1 200); do
        lab_virsh "$1" version > /dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}
lab_restart_libvirtd() { lab_kill_libvirtd "$1" && lab_start_libvirtd "$1"; }

# lab_crash I - the host dies at once with everything on it (SIGKILL of its pid 1).
lab_crash() {
    local pid
    pid=$(lab_host_pid "$1") || return 0
    kill -KILL "$pid" 2>/dev/null
    rm -f "$LAB_DIR/h$1/init.pid"
}

# lab_partition I / lab_heal I - cut host I off the lab network (both directions) / undo.
lab_partition() {
    ip netns exec "$(lab_ns "$1")" nft -f - <<NFT
table inet vmsched_lab {
    chain input { type filter hook input priority 0; ip saddr $LAB_NET.0/24 drop; }
    chain output { type filter hook output priority 0; ip daddr $LAB_NET.0/24 drop; }
}
NFT
}
lab_heal() { ip netns exec "$(lab_ns "$1")" nft delete table inet vmsched_lab 2>/dev/null; true; }

# lab_running_copies NAME - how many hosts run a domain named NAME (split-brain check).
lab_running_copies() {
    local i copies=0 n
    n=$(cat "$LAB_DIR/count" 2>/dev/null || echo 0)
    for i in $(seq 1 "$n"); do
        [ -n "$(lab_host_pid "$i")" ] || continue
        lab_virsh "$i" domstate "$1" 2>/dev/null | grep -q running && copies=$((copies + 1))
    done
    echo "$copies"
}

# ---------------------------------------------------------------------------------------
# Freezing hosts, counting copies, the watchdog stand-in (tests/lab/README.md)
#
# lab_copycount and lab_watchdog (tests/lab/*.c, built by make into $LAB_BIN) run outside
# every host, so that freezing or crashing a host never stops them, at nice -10 so that a
# busy machine delays them less than the hosts; their pids go into the lab's pid list, so
# lab_down ends them too.

LAB_BIN=${VMSCHED_BIN:-$(cd "$LAB_HERE/../.." && pwd)/build/bin}

# lab_alive PID - true while PID exists and is not a zombie.
lab_alive() {
    local stat
    read -r stat 2>/dev/null < "/proc/$1/stat" || return 1
    stat=${stat##*) }
    case "${stat%% *}" in Z|X|x) return 1 ;; esac
}

# lab_forget_pid PID - drops PID from the lab's pid list (it ended; its number may be reused).
lab_forget_pid() {
    [ -f "$LAB_DIR/spawned" ] && sed -i "/^$1\$/d" "$LAB_DIR/spawned"
    true
}

# lab_host_pids I - every process of host I as seen from here: all pids in its pid namespace
# (same /proc/PID/ns/pid as its init's), the init included.
lab_host_pids() {
    local init ns
    if ! init=$(lab_host_pid "$1") || ! lab_alive "$init"; then
        lab_log "host h$1 is not up"
        return 1
    fi
    ns=$(stat -L -c %i "/proc/$init/ns/pid") || return 1
    # Processes that end during the scan make stat fail: not an error (callers may pipefail).
    { stat -L -c '%i %n' /proc/[0-9]*/ns/pid 2>/dev/null || true; } \
        | awk -v ns="$ns" '$1 == ns { split($2, p, "/"); print p[3] }'
}

# lab_freeze I - stops every process of host I (SIGSTOP), like a hung machine: its domains'
# QEMU keep their memory but run no more, its libvirtd and agent answer nothing. Repeats the
# scan until one finds no process left running, so a child forked meanwhile is stopped too (a
# process with a SIGSTOP pending cannot fork, so the last scan sees every child). Fails after
# 5 s if some process does not stop (uninterruptible sleep).
lab_freeze() {
    local i=$1 pids pid stat running deadline
    deadline=$(( $(date +%s%N) + 5000000000 ))
    while :; do
        pids=$(lab_host_pids "$i") || return 1
        running=()
        for pid in $pids; do
            read -r stat 2>/dev/null < "/proc/$pid/stat" || continue
            stat=${stat##*) }
            case "${stat%% *}" in T|t|Z|X|x) ;; *) running+=("$pid") ;; esac
        done
        [ ${#running[@]} -eq 0 ] && break
        if [ "$(date +%s%N)" -ge "$deadline" ]; then
            lab_log "cannot freeze h$i: pids ${running[*]} do not stop"
            return 1
        fi
        kill -STOP "${running[@]}" 2>/dev/null
        sleep 0.01
    done
}

# lab_thaw I - lets every process of a frozen host I run again (SIGCONT). Also continues the
# stopped parents outside the host of its processes: the nsenter of lab_exec and lab_spawn
# stops itself when its child stops (job control) and would otherwise stay stopped.
lab_thaw() {
    local pids pid stat ppid outside=()
    pids=$(lab_host_pids "$1") || return 1
    for pid in $pids; do
        read -r stat 2>/dev/null < "/proc/$pid/stat" || continue
        stat=${stat##*) }
        ppid=${stat#* }
        ppid=${ppid%% *}
        case " $pids " in *" $ppid "*) continue ;; esac
        read -r stat 2>/dev/null < "/proc/$ppid/stat" || continue
        stat=${stat##*) }
        [ "${stat%% *}" = T ] && outside+=("$ppid")
    done
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -CONT $pids 2>/dev/null
    [ ${#outside[@]} -eq 0 ] || kill -CONT "${outside[@]}" 2>/dev/null
    true
}

# lab_copycount_hosts - the lab's hosts as lab_copycount arguments (h1=/run/netns/NS ...).
lab_copycount_hosts() {
    local i n
    n=$(cat "$LAB_DIR/count" 2>/dev/null) || { lab_log "no lab is up"; return 1; }
    for i in $(seq 1 "$n"); do echo "h$i=/run/netns/$(lab_ns "$i")"; done
}

# lab_copycount_start FILE - starts the copy counter over every lab host: its change log goes
# to FILE, its summary (written when stopped) to FILE.summary and FILE.json.
lab_copycount_start() {
    local log=$1 hosts pid
    [ -x "$LAB_BIN/lab_copycount" ] || { lab_log "no $LAB_BIN/lab_copycount (run make)"; return 1; }
    [ ! -f "$LAB_DIR/copycount.pid" ] || { lab_log "a copy counter is already running"; return 1; }
    hosts=$(lab_copycount_hosts) || return 1
    # shellcheck disable=SC2086
    nice -n -10 "$LAB_BIN/lab_copycount" --out "$log" --summary-json "$log.json" $hosts \
        > "$log.summary" 2>&1 < /dev/null &
    pid=$!
    disown "$pid"
    echo "$pid" >> "$LAB_DIR/spawned"
    echo "$pid" > "$LAB_DIR/copycount.pid"
    echo "$log" > "$LAB_DIR/copycount.out"
    sleep 0.05
    lab_alive "$pid" || { lab_log "lab_copycount failed:"; cat "$log.summary" >&2; return 1; }
}

# lab_copycount_stop - stops the copy counter (SIGTERM) and prints its summary.
lab_copycount_stop() {
    local pid log n
    pid=$(cat "$LAB_DIR/copycount.pid" 2>/dev/null) || { lab_log "no copy counter runs"; return 1; }
    log=$(cat "$LAB_DIR/copycount.out")
    kill -TERM "$pid" 2>/dev/null
    for n in $(seq 1 100); do lab_alive "$pid" || break; sleep 0.02; done
    if lab_alive "$pid"; then lab_log "the copy counter (pid $pid) does not stop"; return 1; fi
    rm -f "$LAB_DIR/copycount.pid"
    lab_forget_pid "$pid"
    cat "$log.summary"
}

# lab_copycount_once - the running copies now, one line per VM: "NAME COUNT HOSTS
# [frozen:HOSTS] [incoming:HOSTS]" (VMs without a copy are not listed).
lab_copycount_once() {
    local hosts
    hosts=$(lab_copycount_hosts) || return 1
    # shellcheck disable=SC2086
    "$LAB_BIN/lab_copycount" --once $hosts
}

# lab_copies NAME - "COUNT HOSTS [frozen:...]" of VM NAME now ("0 -" when it runs nowhere).
lab_copies() {
    lab_copycount_once | awk -v n="$1" '$1 == n { $1 = ""; print substr($0, 2); found = 1 }
                                         END { if (!found) print "0 -" }'
}

# lab_wait_copies NAME N TIMEOUT_S - waits until VM NAME has N running copies (across all
# hosts, frozen ones included); fails after TIMEOUT_S seconds (may be fractional).
lab_wait_copies() {
    local name=$1 want=$2 deadline now seen
    deadline=$(( $(date +%s%N) / 1000000 + $(awk -v t="$3" 'BEGIN { printf "%d", t * 1000 }') ))
    while :; do
        seen=$(lab_copies "$name")
        [ "${seen%% *}" = "$want" ] && return 0
        now=$(( $(date +%s%N) / 1000000 ))
        if [ "$now" -ge "$deadline" ]; then
            lab_log "vm '$name': $seen after $3 s (expected $want copies)"
            return 1
        fi
        sleep 0.05
    done
}

# lab_pet_file I - where host I's watchdog pet file lives: the same path inside the host and
# outside it (the host's mount namespace is a copy of ours).
lab_pet_file() { echo "$LAB_DIR/h$1/watchdog.pet"; }

# lab_watchdog_start I FILE W - host I gets a watchdog: when FILE goes W ms without a pet
# (touch) after its first one, host I's init is SIGKILLed (lab_watchdog; it then waits for
# a pet newer than the reset, i.e. after lab_boot). Log: $LAB_DIR/hI/watchdog.log.
lab_watchdog_start() {
    local i=$1 file=$2 w=$3 pid
    [ -x "$LAB_BIN/lab_watchdog" ] || { lab_log "no $LAB_BIN/lab_watchdog (run make)"; return 1; }
    [ ! -f "$LAB_DIR/h$i/watchdog.pid" ] || { lab_log "h$i already has a watchdog"; return 1; }
    nice -n -10 "$LAB_BIN/lab_watchdog" --file "$file" --timeout-ms "$w" --pidfile "$LAB_DIR/h$i/init.pid" \
        --log "$LAB_DIR/h$i/watchdog.log" < /dev/null > /dev/null 2>&1 &
    pid=$!
    disown "$pid"
    echo "$pid" >> "$LAB_DIR/spawned"
    echo "$pid" > "$LAB_DIR/h$i/watchdog.pid"
    sleep 0.05
    lab_alive "$pid" || { lab_log "lab_watchdog failed:"; cat "$LAB_DIR/h$i/watchdog.log" >&2; return 1; }
}

# lab_watchdog_stop I - ends host I's watchdog (it resets nothing more).
lab_watchdog_stop() {
    local pid n
    pid=$(cat "$LAB_DIR/h$1/watchdog.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null
    for n in $(seq 1 100); do lab_alive "$pid" || break; sleep 0.02; done
    rm -f "$LAB_DIR/h$1/watchdog.pid"
    lab_forget_pid "$pid"
}

# lab_down - stops every process the lab started (by pid), deletes its namespaces and files.
lab_down() {
    local pid f
    if [ -f "$LAB_DIR/spawned" ]; then
        while read -r pid; do kill -TERM "$pid" 2>/dev/null; done < "$LAB_DIR/spawned"
    fi
    for f in "$LAB_DIR"/h*/unshare.pid; do
        [ -f "$f" ] || continue
        local dir upid init
        dir=$(dirname "$f")
        upid=$(cat "$f")
        init=$(cat "$dir/init.pid" 2>/dev/null || cat "/proc/$upid/task/$upid/children" 2>/dev/null | awk '{print $1}')
        [ -n "$init" ] && kill -KILL "$init" 2>/dev/null
        kill -KILL "$upid" 2>/dev/null
    done
    # Wait until every host's processes are gone before removing their files.
    local n
    for n in $(seq 1 100); do
        local alive=0
        for f in "$LAB_DIR"/h*/unshare.pid; do
            [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.05
    done
    if [ -f "$LAB_DIR/spawned" ]; then
        while read -r pid; do kill -KILL "$pid" 2>/dev/null; done < "$LAB_DIR/spawned"
    fi
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        case "$ns" in "$LAB_NAME"-h[0-9]*|"$LAB_NAME-br"|"$LAB_NAME-ctl") ip netns delete "$ns" ;; esac
    done
    rm -rf "$LAB_DIR"
}
