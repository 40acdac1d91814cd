#!/bin/sh
# PID 1 of the vpn-wizard lab, run by user-mode-linux (see tests/lab/uml.py).
#
# The kernel's root is the HOST's filesystem (hostfs), mounted read-only.
# Stage 1 stacks an overlay on it whose upper layer is a tmpfs and pivots
# into it, so every host path stays readable (the repo, even under /tmp in
# CI, the interpreter under /root/.pyenv, /etc with strongSwan's defaults)
# while every write lands in UML's memory. Stage 2 builds the topology and
# then serves the control channel on /dev/tty1 until told to power off.
#
# Topology (documentation ranges only; nothing leaves UML):
#   lan ns  eth0 192.0.2.10/24 ── lan0 192.0.2.1/24   cgw = root ns
#                                 eth0 198.51.100.10/24 ── wan0 198.51.100.1/24
#                                                               198.51.100.2/24  vgw ns
#   vpc ns  eth0 203.0.113.10/24 ───────────────────────── vpc0 203.0.113.1/24
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=dumb
# The repo and the interpreter are on the overlay: bytecode would only land
# in tmpfs, but there is no reason to spend the time writing it.
export PYTHONDONTWRITEBYTECODE=1

fail() {
    echo "LAB_INIT_FAILED: $*"
    poweroff -f
}

if [ "${1:-}" != stage2 ]; then
    # --- stage 1: still on the read-only hostfs root --------------------
    mount -t proc proc /proc || fail "mount /proc"
    # /mnt exists on every Debian box; the tmpfs hides whatever it holds.
    mount -t tmpfs -o mode=755 labroot /mnt || fail "tmpfs on /mnt"
    mkdir -p /mnt/mods/lib/modules /mnt/upper /mnt/work /mnt/root
    kver=$(uname -r)
    # Debian ships UML's modules outside /lib/modules.
    ln -s "/usr/lib/uml/modules/$kver" "/mnt/mods/lib/modules/$kver"
    modprobe -d /mnt/mods overlay || fail "modprobe overlay"
    mount -t overlay lab -o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root \
        || fail "overlay over /"
    cd /mnt/root || fail "cd /mnt/root"
    mkdir -p .oldroot
    pivot_root . .oldroot || fail "pivot_root"
    cd /
    exec /bin/sh "$0" stage2
fi

# --- stage 2: / is the overlay; writes go to tmpfs -----------------------
mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# A fresh /run: the host's pid files and sockets must not be seen as ours.
mount -t tmpfs -o mode=755 tmpfs /run || fail "tmpfs on /run"
mkdir -p /run/lock /run/netns
# Detach the raw hostfs view so nothing below can reach the host by path.
umount -l /.oldroot || fail "detach old root"
rmdir /.oldroot

kver=$(uname -r)
mkdir -p /usr/lib/modules
ln -s "/usr/lib/uml/modules/$kver" "/usr/lib/modules/$kver"
# The kernel loads crypto transforms on demand (charon fails with "unable to
# add SAD entry" without them); modprobe now finds them in the usual place.
echo /sbin/modprobe > /proc/sys/kernel/modprobe
modprobe -a ip_vti esp4 xfrm_user veth iptable_mangle iptable_filter xt_TCPMSS xt_mark \
    xt_esp xt_tcpudp hmac cbc authenc echainiv seqiv || fail "modprobe"

# UML's kernel has no nf_tables for IPv4: the nft flavour fails on mangle.
# The product keeps calling plain iptables; the alternative decides.
for t in iptables ip6tables; do
    update-alternatives --quiet --set "$t" "/usr/sbin/$t-legacy" \
        || fail "alternative $t -> legacy"
done

hostname cgw
mkdir -p /lab
chmod 700 /lab

# --- topology ---------------------------------------------------------------
set -e
ip link set lo up
for ns in lan vgw vpc; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip link add eth0 type veth peer name wan0 netns vgw
ip link add lan0 type veth peer name eth0 netns lan
ip -n vgw link add vpc0 type veth peer name eth0 netns vpc

ip addr add 198.51.100.10/24 dev eth0
ip link set eth0 up
ip addr add 192.0.2.1/24 dev lan0
ip link set lan0 up
ip route add default via 198.51.100.1

ip -n lan addr add 192.0.2.10/24 dev eth0
ip -n lan link set eth0 up
ip -n lan route add default via 192.0.2.1

ip -n vgw addr add 198.51.100.1/24 dev wan0
ip -n vgw addr add 198.51.100.2/24 dev wan0
ip -n vgw link set wan0 up
ip -n vgw addr add 203.0.113.1/24 dev vpc0
ip -n vgw link set vpc0 up
# A decapsulated packet keeps its tunnel mark; forwarded out of an interface
# without disable_xfrm it would match the marked 0/0 policy and go straight
# back into the tunnel (NOTES.md). Both of the vgw's real interfaces need it.
ip netns exec vgw sysctl -qw net.ipv4.ip_forward=1 \
    net.ipv4.conf.wan0.disable_xfrm=1 net.ipv4.conf.wan0.disable_policy=1 \
    net.ipv4.conf.vpc0.disable_xfrm=1 net.ipv4.conf.vpc0.disable_policy=1

ip -n vpc addr add 203.0.113.10/24 dev eth0
ip -n vpc link set eth0 up
ip -n vpc route add default via 203.0.113.1
set +e

# --- control channel --------------------------------------------------------
# Requests come from uml.py on /dev/tty1 (con1, a pipe pair on the host),
# apart from the kernel's own console on tty0, so kernel messages never mix
# with command output. A request is one header line
#   TOKEN NS TIMEOUT LENGTH
# followed by LENGTH bytes of base64: a shell script. The script is kept in a
# file and run from there, never as an argument, so what it carries (a PSK
# for example) never shows in any process's argv. Its output goes to a file
# first, so a daemon that inherits it cannot write into a later answer.
serve() {
    exec </dev/tty1 >/dev/tty1 2>&1
    stty raw -echo
    umask 077
    echo "__LAB_READY__ $(cut -d' ' -f1 /proc/uptime)"
    while read -r token ns tmo len; do
        head -c "$len" | base64 -d >/lab/cmd.sh
        case "$ns" in
            -) set -- ;;
            # ip netns exec makes a new mount namespace per call: to reach
            # the vgw's charon (its own /run and ipsec.conf), join the mount
            # and network namespaces of the process that started it.
            vgw) set -- nsenter -t "$(cat /lab/vgw.pid 2>/dev/null || echo 0)" -m -n -- ;;
            *) set -- ip netns exec "$ns" ;;
        esac
        timeout -k 3 "$tmo" "$@" /bin/sh /lab/cmd.sh </dev/null >"/lab/out.$token" 2>&1
        rc=$?
        cat "/lab/out.$token"
        rm -f "/lab/out.$token"
        printf '\n__LAB_END_%s_%s__\n' "$token" "$rc"
    done
}

serve &
# As PID 1 the shell also reaps the orphans daemons leave behind. The loop
# ends when the host side closes the channel (EOF) or sends poweroff.
wait
poweroff -f
