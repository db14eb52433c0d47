#define _GNU_SOURCE
#include "CFlowTapLinux.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(CFT_IFNAMSIZ == IFNAMSIZ, "IFNAMSIZ");

int cft_tun_attach(int fd, const char *name, int flags, char *name_out) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = (short)flags;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        return -errno;
    memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
    name_out[IFNAMSIZ - 1] = 0;
    return 0;
}

int cft_tun_set_offload(int fd, unsigned int flags) {
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}

int cft_tun_set_vnet_hdr_size(int fd, int size) {
    return ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}

static int link_flags(int sock, const char *name, struct ifreq *ifr) {
    memset(ifr, 0, sizeof(*ifr));
    strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
    return ioctl(sock, SIOCGIFFLAGS, ifr) < 0 ? -errno : 0;
}

int cft_link_is_up(const char *name) {
    struct ifreq ifr;
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -errno;
    int rc = link_flags(sock, name, &ifr);
    close(sock);
    return rc < 0 ? rc : (ifr.ifr_flags & IFF_UP) != 0;
}

int cft_link_set_up(const char *name) {
    struct ifreq ifr;
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -errno;
    int rc = link_flags(sock, name, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(sock, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
    }
    close(sock);
    return rc;
}

static void termination_set(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

int cft_block_termination_signals(void) {
    sigset_t set;
    termination_set(&set);
    return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int cft_termination_signalfd(void) {
    sigset_t set;
    termination_set(&set);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int cft_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n;
    do {
        n = read(fd, &info, sizeof(info));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if ((size_t)n != sizeof(info))
        return -EIO;
    return (int)info.ssi_signo;
}

int cft_eventfd_create(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int cft_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(fd, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

int cft_set_thread_name(const char *name) {
    char short_name[16];
    strncpy(short_name, name, sizeof(short_name) - 1);
    short_name[15] = 0;
    return -pthread_setname_np(pthread_self(), short_name);
}

int cft_pin_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int cft_usable_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return -errno;
    return CPU_COUNT(&set);
}

int cft_unshare_network_namespace(void) {
    return unshare(CLONE_NEWNET) < 0 ? -errno : 0;
}
