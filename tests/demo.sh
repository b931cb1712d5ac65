#!/usr/bin/env bash
# tests/demo.sh - `make demo`: a scheduler and three agents on libvirt's test driver.
#
# usage: tests/demo.sh start|stop BINDIR DEMODIR
# start: writes three test-driver node files (different CPUs, memory, domains), starts the
# scheduler and the agents in the background, waits until all three hosts are up, prints
# `clusterctl host list` and `clusterctl vm list`, and leaves everything running.
# stop: stops exactly the processes start recorded (by pid).
set -euo pipefail

action=${1:?usage: tests/demo.sh start|stop BINDIR DEMODIR}
export VMSCHED_BIN=$(cd "${2:?BINDIR}" && pwd)
mkdir -p "${3:?DEMODIR}"
export CLUSTER_DIR=$(cd "$3" && pwd)
. "$(dirname "$0")/lib/cluster.sh"

case "$action" in
stop)
    cluster_stop
    echo "demo stopped"
    exit 0 ;;
start) ;;
*)  echo "tests/demo.sh: unknown action '$action' (start or stop)" >&2; exit 2 ;;
esac

if [ -s "$CLUSTER_DIR/pids" ]; then
    echo "demo: already running (make demo-stop first); stopping the old one"
    cluster_stop
fi
rm -f "$CLUSTER_DIR/vmsched.db"*

cluster_node_xml "$CLUSTER_DIR/h1.xml" 8 16384 web-1:2048:running web-2:2048:running db-1:4096:running
cluster_node_xml "$CLUSTER_DIR/h2.xml" 16 32768 app-1:4096:running cache-1:1024:shutoff
cluster_node_xml "$CLUSTER_DIR/h3.xml" 4 8192 batch-1:1024:running
cluster_scheduler_conf
cluster_start_scheduler
for h in h1 h2 h3; do
    cluster_agent_conf "$h" "test://$CLUSTER_DIR/$h.xml"
    cluster_start_agent "$h"
done

if ! cluster_wait 20 cluster_hosts_up 3; then
    echo "demo: the three hosts did not come up within 20 s; logs:" >&2
    tail -n 20 "$CLUSTER_DIR/scheduler.log" "$CLUSTER_DIR"/h*/agent.log >&2
    cluster_stop
    exit 1
fi
# Wait for the first full reports.
vm_count() { [ "$(ctl -o json vm list | jq '.vms | length')" -ge 6 ]; }
cluster_wait 10 vm_count || true

# One cluster-managed VM: vmsched picks its host (spread) and starts it there.
cat > "$CLUSTER_DIR/managed-1.xml" <<XML
<domain type='test'><name>managed-1</name><memory unit='MiB'>2048</memory><vcpu>2</vcpu>
  <os><type>hvm</type></os></domain>
XML
ctl vm create managed-1 --xml "$CLUSTER_DIR/managed-1.xml" > /dev/null
ctl vm start managed-1 > /dev/null || echo "demo: managed-1 did not start: $(ctl vm why managed-1)" >&2

echo
echo "\$ clusterctl host list"
ctl host list
echo
echo "\$ clusterctl vm list"
ctl vm list
echo
echo "\$ clusterctl vm why managed-1"
ctl vm why managed-1
echo
echo "vmsched demo running: scheduler on tcp://127.0.0.1:$((CLUSTER_PORT + 1)), every connection"
echo "CurveZMQ-secured (keys in $CLUSTER_DIR/keys; you are user 'admin'). Logs and database in"
echo "$CLUSTER_DIR. Try: $VMSCHED_BIN/clusterctl -c $CLUSTER_DIR/clusterctl.conf status"
echo "Stop it with: make demo-stop"
