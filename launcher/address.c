/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/address.h"

static bool is_loopback(struct in_addr a)
{
    return (ntohl(a.s_addr) >> 24) == 127;
}

/* The local address the kernel would send from toward `peer`: connect() on a UDP socket picks
 * a route and a source address without sending anything. */
static int source_toward(const char *peer, struct in_addr *out)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)}, me;
    socklen_t len = sizeof(me);
    int fd, rc = -1;

    if (!peer || inet_pton(AF_INET, peer, &to.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0 &&
        getsockname(fd, (struct sockaddr *)&me, &len) == 0) {
        *out = me.sin_addr;
        rc = 0;
    }
    close(fd);
    return rc;
}

/* First IPv4 address of an interface that is up: of `name` when given, else the first one
 * that is not loopback. */
static int interface_addr(const char *name, struct in_addr *out)
{
    struct ifaddrs *all = NULL;
    int rc = -1;

    if (getifaddrs(&all) < 0)
        return -1;
    for (struct ifaddrs *i = all; i && rc < 0; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP))
            continue;
        struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        if (name ? strcmp(i->ifa_name, name) == 0 : !is_loopback(a)) {
            *out = a;
            rc = 0;
        }
    }
    freeifaddrs(all);
    return rc;
}

static int own_name_addr(struct in_addr *out)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char host[256];
    int rc = -1;

    if (gethostname(host, sizeof(host)) < 0 || getaddrinfo(host, NULL, &hints, &res) != 0)
        return -1;
    for (struct addrinfo *r = res; r && rc < 0; r = r->ai_next) {
        struct in_addr a = ((struct sockaddr_in *)r->ai_addr)->sin_addr;
        if (!is_loopback(a)) {
            *out = a;
            rc = 0;
        }
    }
    freeaddrinfo(res);
    return rc;
}

int zr_master_addr(const char *iface, bool multi_node, char *addr, size_t len, const char **how,
                   struct zn_error *err)
{
    struct in_addr a;

    if (iface) {
        if (interface_addr(iface, &a) < 0)
            return zn_fail(err, "--iface %s: no such interface with an IPv4 address that is up",
                           iface);
        *how = "the address of --iface";
    } else if (source_toward(getenv("SLURM_LAUNCH_NODE_IPADDR"), &a) == 0 && !is_loopback(a)) {
        *how = "the route toward srun's host";
    } else if (own_name_addr(&a) == 0) {
        *how = "this host's name";
    } else if (interface_addr(NULL, &a) == 0) {
        *how = "the first interface that is up";
    } else if (!multi_node) {
        inet_pton(AF_INET, "127.0.0.1", &a);
        *how = "loopback (a single-node job)";
    } else {
        return zn_fail(err, "rank 0's node has no IPv4 address other nodes could reach; give "
                            "one with --master-addr or --iface");
    }
    if (!inet_ntop(AF_INET, &a, addr, (socklen_t)len))
        return zn_fail(err, "cannot print rank 0's address");
    return 0;
}

int zr_iface_toward(const char *addr, char *name, size_t len)
{
    struct ifaddrs *all = NULL;
    struct in_addr src;
    int rc = -1;

    if (source_toward(addr, &src) < 0 || getifaddrs(&all) < 0)
        return -1;
    for (struct ifaddrs *i = all; i && rc < 0; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
            ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == src.s_addr) {
            snprintf(name, len, "%s", i->ifa_name);
            rc = 0;
        }
    }
    freeifaddrs(all);
    return rc;
}
