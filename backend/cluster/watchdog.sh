# Beacon's cluster watchdog. Runs detached, as the account that owns the
# cluster, for as long as the cluster runs. Beacon processes stop the cluster
# themselves when the last one leaves normally; this covers the ones that die
# without leaving (SIGKILL, crashes, test binaries that simply exit).
# Arguments: data dir, pg_ctl, cluster dir, pid file for this watchdog.
root=$1 pg_ctl=$2 cluster=$3 pidfile=$4
echo $$ > "$pidfile"

alive() {
    kill -0 "$1" 2>/dev/null || [ -d "/proc/$1" ]
}

idle_checks=0
while :; do
    sleep 1
    [ "$(cat "$pidfile" 2>/dev/null)" = "$$" ] || exit 0
    "$pg_ctl" status -D "$cluster" >/dev/null 2>&1 || { rm -f "$pidfile"; exit 0; }
    live=0
    for entry in "$root"/users/*; do
        [ -e "$entry" ] || continue
        name=${entry##*/}
        if alive "${name%%-*}"; then live=1; else rm -f "$entry"; fi
    done
    if [ $live = 1 ]; then idle_checks=0; continue; fi
    # Two idle checks in a row, so a process that is just registering wins.
    idle_checks=$((idle_checks + 1))
    [ $idle_checks -ge 2 ] || continue
    "$pg_ctl" stop -D "$cluster" -m fast -w -t 60 >/dev/null 2>&1
    rm -f "$pidfile"
    if [ -e "$root/ephemeral" ]; then rm -rf "$root"; fi
    exit 0
done
