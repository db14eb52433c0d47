#define _GNU_SOURCE
#include "CFlowTapLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

// Every signal a terminal or a service manager sends: they reach flowtap only through its
// signalfd, never as a default action that would end it without exporting its flows.
static void handled_set(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGQUIT);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
    sigaddset(set, SIGPIPE);
}

int cft_block_handled_signals(void) {
    sigset_t set;
    handled_set(&set);
    // SIGPIPE is also ignored outright: should any thread unblock it, its default action would
    // end the process the moment a peer hangs up before its answer is written. Ignored, such
    // a write fails with EPIPE (and flowtap's own writes to sockets pass MSG_NOSIGNAL).
    struct sigaction ignore;
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGPIPE, &ignore, NULL) < 0)
        return -errno;
    return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int cft_handled_signalfd(void) {
    sigset_t set;
    handled_set(&set);
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

// ---- privilege drop -------------------------------------------------------------------------

#include <linux/capability.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int cft_drop_bounding_set(void) {
    int first_error = 0;
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
            break; // past the kernel's last capability
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && first_error == 0)
            first_error = -errno;
    }
    return first_error;
}

int cft_clear_capabilities(void) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    return syscall(SYS_capset, &header, data) < 0 ? -errno : 0;
}

int cft_set_no_new_privs(void) {
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

int cft_accept(int fd) {
    int c;
    do {
        c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    } while (c < 0 && errno == EINTR);
    return c < 0 ? -errno : c;
}

#include <linux/errqueue.h>
#include <netinet/in.h>

int cft_read_icmp_error(int fd, int *ee_errno, int *ee_type, int *ee_code, unsigned char *offender, int *offender_len,
                        unsigned char *quoted, int *quoted_len) {
    char control[512];
    unsigned char data[64];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
    struct sockaddr_storage from;
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control, .msg_controllen = sizeof(control)};
    ssize_t n;
    do {
        n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
            (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
            struct sock_extended_err *e = (struct sock_extended_err *)CMSG_DATA(c);
            *ee_errno = (int)e->ee_errno;
            *ee_type = e->ee_type;
            *ee_code = e->ee_code;
            struct sockaddr *o = SO_EE_OFFENDER(e);
            *offender_len = 0;
            *quoted_len = (int)(n < 0 ? 0 : (n > 64 ? 64 : n));
            memcpy(quoted, data, (size_t)*quoted_len);
            if (o->sa_family == AF_INET) {
                memcpy(offender, &((struct sockaddr_in *)o)->sin_addr, 4);
                *offender_len = 4;
            } else if (o->sa_family == AF_INET6) {
                memcpy(offender, &((struct sockaddr_in6 *)o)->sin6_addr, 16);
                *offender_len = 16;
            }
            return 1;
        }
    }
    return 0;
}

int cft_tun_get_iff(int fd, char *name_out, int *flags) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(fd, TUNGETIFF, &ifr) < 0)
        return -errno;
    memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
    name_out[IFNAMSIZ - 1] = 0;
    *flags = ifr.ifr_flags;
    return 0;
}

int cft_memfd_create(const char *name) {
    int fd = (int)memfd_create(name, MFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cft_send_with_fds(int fd, const void *data, size_t length, const int *fds, int count, const void *address,
                      unsigned int address_length) {
    if (count < 0 || count > CFT_MAX_PASSED_FDS)
        return -EINVAL;
    union {
        char buffer[CMSG_SPACE(sizeof(int) * CFT_MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct iovec iov = {.iov_base = (void *)data, .iov_len = length};
    struct msghdr msg = {.msg_name = (void *)address, .msg_namelen = address_length, .msg_iov = &iov, .msg_iovlen = 1};
    if (count > 0) {
        msg.msg_control = control.buffer;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)count);
    }
    ssize_t n;
    do {
        n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (int)n;
}

int cft_send_datagrams(int fd, const void *const *bases, const size_t *lengths, unsigned int count,
                       const void *address, unsigned int address_length) {
    struct mmsghdr messages[CFT_MAX_DATAGRAMS];
    struct iovec iov[CFT_MAX_DATAGRAMS];
    if (count > CFT_MAX_DATAGRAMS)
        count = CFT_MAX_DATAGRAMS;
    memset(messages, 0, sizeof(messages[0]) * count);
    for (unsigned int i = 0; i < count; i++) {
        iov[i].iov_base = (void *)bases[i];
        iov[i].iov_len = lengths[i];
        messages[i].msg_hdr.msg_name = (void *)address;
        messages[i].msg_hdr.msg_namelen = address_length;
        messages[i].msg_hdr.msg_iov = &iov[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    int n;
    do {
        n = sendmmsg(fd, messages, count, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

int cft_receive_with_fds(int fd, void *data, size_t length, int *fds, int *count) {
    union {
        char buffer[CMSG_SPACE(sizeof(int) * CFT_MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = data, .iov_len = length};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buffer,
                         .msg_controllen = sizeof(control.buffer)};
    ssize_t n;
    do {
        n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    *count = 0;
    if (n < 0)
        return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int received = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < received; i++) {
            int passed;
            memcpy(&passed, CMSG_DATA(c) + sizeof(int) * (size_t)i, sizeof(int));
            if (*count < CFT_MAX_PASSED_FDS)
                fds[(*count)++] = passed;
            else
                close(passed);
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        for (int i = 0; i < *count; i++)
            close(fds[i]);
        *count = 0;
        return -EMSGSIZE;
    }
    return (int)n;
}

int cft_peer_uid(int fd) {
    struct ucred cred;
    socklen_t length = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) < 0)
        return -errno;
    return (int)cred.uid;
}
