#!/bin/sh
# PID 1 of the vpn-wizard lab, run by user-mode-linux (see tests/lab/uml.py).
#
# The kernel's root is the HOST's filesystem (hostfs), mounted read-only.
# Stage 1 stacks an overlay on it whose upper layer is a tmpfs and pivots
# into it, so every host path stays readable (the repo, even under /tmp in
# CI, the interpreter under /root/.pyenv, /etc with strongSwan's defaults)
# while every write lands in UML's memory. Stage 2 builds the topology and
# then starts agent.py, which serves the control channel on /dev/tty1 until
# the host closes it.
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

# Progress on the kernel console with the kernel's clock, without a process
# start (about 20 ms each under UML): for reading a slow boot in CI's log.
mark() {
    read -r up _ </proc/uptime
    echo "lab-init: $* at ${up}s"
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
mark "overlay root"
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
mark "modules"

# UML's kernel has no nf_tables for IPv4: the nft flavour fails on mangle.
# The product keeps calling plain iptables; the alternative decides.
for t in iptables ip6tables; do
    update-alternatives --quiet --set "$t" "/usr/sbin/$t-legacy" \
        || fail "alternative $t -> legacy"
done

hostname cgw
mark "alternatives"

# --- topology ---------------------------------------------------------------
if [ "${lab_topology:-}" = boot ]; then
# The booted lab (bootlab.py): the customer box is another UML machine, wired
# to this one over two uml_switch sockets: eth0 is the WAN segment, which the
# vgw gets, eth1 the box's LAN segment, which the LAN host gets. This machine's
# root namespace plays no part.
hostname aws
(
set -e
for ns in lan vgw vpc; do
    ip netns add "$ns"
done
ip link set lo up
ip link set eth0 netns vgw
ip link set eth1 netns lan
ip -n vgw -batch - <<'IP'
link set lo up
link set eth0 name wan0
link add vpc0 type veth peer name eth0 netns vpc
addr add 198.51.100.1/24 dev wan0
addr add 198.51.100.2/24 dev wan0
link set wan0 up
addr add 203.0.113.1/24 dev vpc0
link set vpc0 up
IP
ip -n lan -batch - <<'IP'
link set lo up
link set eth1 name eth0
addr add 192.0.2.10/24 dev eth0
link set eth0 up
route add default via 192.0.2.1
IP
ip -n vpc -batch - <<'IP'
link set lo up
addr add 203.0.113.10/24 dev eth0
link set eth0 up
route add default via 203.0.113.1
IP
ip netns exec vgw sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.wan0.forwarding=0 \
    net.ipv4.conf.wan0.disable_xfrm=1 net.ipv4.conf.wan0.disable_policy=1 \
    net.ipv4.conf.vpc0.disable_xfrm=1 net.ipv4.conf.vpc0.disable_policy=1
) || fail "topology (boot)"
else
# One `ip -batch` per namespace: a process start costs about 20 ms here. In a
# subshell with -e, so the first failure reaches fail() (PID 1 must not exit).
(
set -e
for ns in lan vgw vpc; do
    ip netns add "$ns"
done
ip -batch - <<'IP'
link set lo up
link add eth0 type veth peer name wan0 netns vgw
link add lan0 type veth peer name eth0 netns lan
addr add 198.51.100.10/24 dev eth0
link set eth0 up
addr add 192.0.2.1/24 dev lan0
link set lan0 up
route add default via 198.51.100.1
IP
ip -n lan -batch - <<'IP'
link set lo up
addr add 192.0.2.10/24 dev eth0
link set eth0 up
route add default via 192.0.2.1
IP
ip -n vgw -batch - <<'IP'
link set lo up
link add vpc0 type veth peer name eth0 netns vpc
addr add 198.51.100.1/24 dev wan0
addr add 198.51.100.2/24 dev wan0
link set wan0 up
addr add 203.0.113.1/24 dev vpc0
link set vpc0 up
IP
ip -n vpc -batch - <<'IP'
link set lo up
addr add 203.0.113.10/24 dev eth0
link set eth0 up
route add default via 203.0.113.1
IP
# A decapsulated packet keeps its tunnel mark; forwarded out of an interface
# without disable_xfrm it would match the marked 0/0 policy and go straight
# back into the tunnel (NOTES.md). Both of the vgw's real interfaces need it.
# Like AWS, the vgw routes nothing from the outside into the VPC in clear:
# wan0 does not forward (the check is on the input interface), so only what
# arrives decapsulated on a VTI reaches the VPC, and a test that pings the VPC
# proves a tunnel.
ip netns exec vgw sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.wan0.forwarding=0 \
    net.ipv4.conf.wan0.disable_xfrm=1 net.ipv4.conf.wan0.disable_policy=1 \
    net.ipv4.conf.vpc0.disable_xfrm=1 net.ipv4.conf.vpc0.disable_policy=1
) || fail "topology"
fi
mark "topology"

# --- control channel --------------------------------------------------------
# agent.py answers uml.py on /dev/tty1 (con1, a pipe pair on the host), apart
# from the kernel's own console on tty0, so kernel messages never mix with
# command output. uml.py passes its own interpreter as lab_python= on the
# kernel command line (the kernel hands such words to init as variables).
python=${lab_python:-python3}
"$python" "$(dirname "$0")/agent.py" </dev/null >/dev/console 2>&1 &
# As PID 1 this shell also reaps the orphans that daemons leave behind. The
# wait ends when the agent does: the host closed the channel.
wait
poweroff -f
