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
    // SIGPIPE is also ignored outright: threads flowtap does not start may unblock it
    // (libdispatch's workers, which serve --metrics, unblock SIGPIPE among the synchronous
    // signals), and there its default action would end the process the moment a scraper
    // hangs up before its answer is written. Ignored, such a write fails with EPIPE.
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

int cft_unshare_network_namespace(void) {
    return unshare(CLONE_NEWNET) < 0 ? -errno : 0;
}

// ---- privilege drop -------------------------------------------------------------------------

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>

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

// Filled before the filter is installed; read by the SIGSYS handler.
static volatile unsigned char refused_logged[1024];

static void put_decimal(char **p, long v) {
    char digits[24];
    int n = 0;
    if (v < 0) {
        *(*p)++ = '-';
        v = -v;
    }
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && n < (int)sizeof(digits));
    while (n > 0)
        *(*p)++ = digits[--n];
}

// A system call outside the allowlist: say which, once per number, and make it fail with EPERM
// as if the kernel had refused it, so the caller's own error handling runs (a logged, counted
// failure rather than a silent kill). Only async-signal-safe calls (write) are made here.
static void on_sigsys(int signo, siginfo_t *info, void *context) {
    (void)signo;
    int nr = info->si_syscall;
    if (nr >= 0 && nr < (int)sizeof(refused_logged) && !refused_logged[nr]) {
        refused_logged[nr] = 1;
        char line[200];
        char *p = line;
        const char *a = "flowtap: seccomp refused system call ";
        while (*a) *p++ = *a++;
        put_decimal(&p, nr);
        const char *b = " (it failed with EPERM); this is a bug in flowtap's allowlist: please report it\n";
        while (*b) *p++ = *b++;
        (void)!write(2, line, (size_t)(p - line));
    }
    ucontext_t *uc = (ucontext_t *)context;
#if defined(__x86_64__)
    uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#elif defined(__aarch64__)
    uc->uc_mcontext.regs[0] = (unsigned long long)(long long)-EPERM;
#endif
}

#if defined(__x86_64__)
#define CFT_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define CFT_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

int cft_install_seccomp(const int *allowed, int count, int trap) {
#ifndef CFT_AUDIT_ARCH
    (void)allowed;
    (void)count;
    (void)trap;
    return -ENOSYS;
#else
    if (count < 1 || count > 200)
        return -EINVAL;
    if (trap) {
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_sigaction = on_sigsys;
        action.sa_flags = SA_SIGINFO;
        sigemptyset(&action.sa_mask);
        if (sigaction(SIGSYS, &action, NULL) < 0)
            return -errno;
    }
    // arch check; open and openat (but for libdispatch's, below), socket and connect fail with
    // EACCES, unlogged (glibc opens files on its own and copes: malloc reads
    // /proc/sys/vm/overcommit_memory when a thread's heap first shrinks, localtime rereads a
    // changed /etc/localtime; libdispatch reports a refused thread priority through syslog(3),
    // which copes without its socket, and whose socket may have been made just before the
    // filter came); ioctl only as TCGETS (stdio's isatty: TAP ioctls need no capability, so no
    // other request may pass); then one JEQ per allowed call to ALLOW, else the default action.
    struct sock_filter program[20 + 200 + 2];
#ifdef SYS_open
    const int header = 18;
#else
    const int header = 14;
#endif
    // The last instruction is the ALLOW; `to_allow(i)` is the jump offset to it from i.
    const int allow = header + count + 1;
#define to_allow(i) ((unsigned char)(allow - (i) - 1))
    int n = 0;
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CFT_AUDIT_ARCH, 1, 0);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    // open and openat pass only as O_RDONLY | O_NONBLOCK, what libdispatch's worker monitor
    // uses to read /proc/TID/stat once a second while work waits, and which it cannot do
    // without (it ends the process, "registered worker exited prematurely"); every other
    // open fails with EACCES (args are 64-bit: the low word, little-endian, holds the flags).
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 3);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]));
    program[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, O_RDONLY | O_NONBLOCK, to_allow(n), 0);
    n++;
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA));
#ifdef SYS_open
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 3);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]));
    program[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, O_RDONLY | O_NONBLOCK, to_allow(n), 0);
    n++;
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA));
#endif
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 1, 0);
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_connect, 0, 1);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA));
    // Not ioctl: on to the allowlist, the number still loaded.
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 2);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]));
    // TCGETS to the ALLOW, anything else to the default action just before it.
    program[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TCGETS, to_allow(n), (unsigned char)(to_allow(n) - 1));
    n++;
    if (n != header)
        return -EFAULT;
    for (int i = 0; i < count; i++) {
        program[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed[i], to_allow(n), 0);
        n++;
    }
#undef to_allow
    // A trapped call made while SIGSYS is blocked (glibc blocks every signal inside
    // pthread_create and at thread exit) kills the process: the kernel cannot deliver the
    // signal, so it forces the default action. Hence EPERM by default, which cannot kill.
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, trap ? SECCOMP_RET_TRAP : SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog fprog = {.len = (unsigned short)n, .filter = program};
    // TSYNC: every thread of the process gets the filter, or none does (the call returns the
    // id of a thread that cannot take it, which cannot happen here: none has another filter).
    // LOG: refused calls go to the kernel's audit log (where auditing is on), the only record
    // of an EPERM refusal; kernels before 4.14 lack the flag, and get the filter without it.
    unsigned flags = SECCOMP_FILTER_FLAG_TSYNC | (trap ? 0 : SECCOMP_FILTER_FLAG_LOG);
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
    if (rc < 0 && errno == EINVAL && (flags & SECCOMP_FILTER_FLAG_LOG))
        rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog);
    if (rc < 0)
        return -errno;
    return rc == 0 ? 0 : -EBUSY;
#endif
}

int cft_syscall_number(const char *name) {
    // Every name the allowlist (Probe/SeccompAllowlist.swift) may use; #ifdef because the
    // architectures differ (aarch64 has no poll, open or arch_prctl).
    static const struct { const char *name; int nr; } table[] = {
#ifdef SYS_accept4
        {"accept4", SYS_accept4},
#endif
#ifdef SYS_accept
        {"accept", SYS_accept},
#endif
#ifdef SYS_epoll_ctl
        {"epoll_ctl", SYS_epoll_ctl},
#endif
#ifdef SYS_timerfd_create
        {"timerfd_create", SYS_timerfd_create},
#endif
#ifdef SYS_timerfd_settime
        {"timerfd_settime", SYS_timerfd_settime},
#endif
#ifdef SYS_getpeername
        {"getpeername", SYS_getpeername},
#endif
#ifdef SYS_setpriority
        {"setpriority", SYS_setpriority},
#endif
#ifdef SYS_pread64
        {"pread64", SYS_pread64},
#endif
#ifdef SYS_read
        {"read", SYS_read},
#endif
#ifdef SYS_write
        {"write", SYS_write},
#endif
#ifdef SYS_readv
        {"readv", SYS_readv},
#endif
#ifdef SYS_writev
        {"writev", SYS_writev},
#endif
#ifdef SYS_close
        {"close", SYS_close},
#endif
#ifdef SYS_poll
        {"poll", SYS_poll},
#endif
#ifdef SYS_ppoll
        {"ppoll", SYS_ppoll},
#endif
#ifdef SYS_sendto
        {"sendto", SYS_sendto},
#endif
#ifdef SYS_sendmsg
        {"sendmsg", SYS_sendmsg},
#endif
#ifdef SYS_recvmsg
        {"recvmsg", SYS_recvmsg},
#endif
#ifdef SYS_recvfrom
        {"recvfrom", SYS_recvfrom},
#endif
#ifdef SYS_futex
        {"futex", SYS_futex},
#endif
#ifdef SYS_clock_gettime
        {"clock_gettime", SYS_clock_gettime},
#endif
#ifdef SYS_clock_nanosleep
        {"clock_nanosleep", SYS_clock_nanosleep},
#endif
#ifdef SYS_nanosleep
        {"nanosleep", SYS_nanosleep},
#endif
#ifdef SYS_gettimeofday
        {"gettimeofday", SYS_gettimeofday},
#endif
#ifdef SYS_mmap
        {"mmap", SYS_mmap},
#endif
#ifdef SYS_munmap
        {"munmap", SYS_munmap},
#endif
#ifdef SYS_mprotect
        {"mprotect", SYS_mprotect},
#endif
#ifdef SYS_mremap
        {"mremap", SYS_mremap},
#endif
#ifdef SYS_madvise
        {"madvise", SYS_madvise},
#endif
#ifdef SYS_brk
        {"brk", SYS_brk},
#endif
#ifdef SYS_exit
        {"exit", SYS_exit},
#endif
#ifdef SYS_exit_group
        {"exit_group", SYS_exit_group},
#endif
#ifdef SYS_rt_sigreturn
        {"rt_sigreturn", SYS_rt_sigreturn},
#endif
#ifdef SYS_rt_sigprocmask
        {"rt_sigprocmask", SYS_rt_sigprocmask},
#endif
#ifdef SYS_rt_sigaction
        {"rt_sigaction", SYS_rt_sigaction},
#endif
#ifdef SYS_sigaltstack
        {"sigaltstack", SYS_sigaltstack},
#endif
#ifdef SYS_getpid
        {"getpid", SYS_getpid},
#endif
#ifdef SYS_getppid
        {"getppid", SYS_getppid},
#endif
#ifdef SYS_gettid
        {"gettid", SYS_gettid},
#endif
#ifdef SYS_tgkill
        {"tgkill", SYS_tgkill},
#endif
#ifdef SYS_sched_yield
        {"sched_yield", SYS_sched_yield},
#endif
#ifdef SYS_getrandom
        {"getrandom", SYS_getrandom},
#endif
#ifdef SYS_clone
        {"clone", SYS_clone},
#endif
#ifdef SYS_clone3
        {"clone3", SYS_clone3},
#endif
#ifdef SYS_set_robust_list
        {"set_robust_list", SYS_set_robust_list},
#endif
#ifdef SYS_rseq
        {"rseq", SYS_rseq},
#endif
#ifdef SYS_prctl
        {"prctl", SYS_prctl},
#endif
#ifdef SYS_sched_setaffinity
        {"sched_setaffinity", SYS_sched_setaffinity},
#endif
#ifdef SYS_sched_getaffinity
        {"sched_getaffinity", SYS_sched_getaffinity},
#endif
#ifdef SYS_fstat
        {"fstat", SYS_fstat},
#endif
#ifdef SYS_newfstatat
        {"newfstatat", SYS_newfstatat},
#endif
#ifdef SYS_statx
        {"statx", SYS_statx},
#endif
#ifdef SYS_lseek
        {"lseek", SYS_lseek},
#endif
#ifdef SYS_ioctl
        {"ioctl", SYS_ioctl},
#endif
#ifdef SYS_openat
        {"openat", SYS_openat},
#endif
#ifdef SYS_open
        {"open", SYS_open},
#endif
#ifdef SYS_getcwd
        {"getcwd", SYS_getcwd},
#endif
#ifdef SYS_readlink
        {"readlink", SYS_readlink},
#endif
#ifdef SYS_readlinkat
        {"readlinkat", SYS_readlinkat},
#endif
#ifdef SYS_uname
        {"uname", SYS_uname},
#endif
#ifdef SYS_membarrier
        {"membarrier", SYS_membarrier},
#endif
#ifdef SYS_restart_syscall
        {"restart_syscall", SYS_restart_syscall},
#endif
#ifdef SYS_epoll_wait
        {"epoll_wait", SYS_epoll_wait},
#endif
#ifdef SYS_epoll_pwait
        {"epoll_pwait", SYS_epoll_pwait},
#endif
#ifdef SYS_getuid
        {"getuid", SYS_getuid},
#endif
#ifdef SYS_geteuid
        {"geteuid", SYS_geteuid},
#endif
#ifdef SYS_getgid
        {"getgid", SYS_getgid},
#endif
#ifdef SYS_getegid
        {"getegid", SYS_getegid},
#endif
#ifdef SYS_fcntl
        {"fcntl", SYS_fcntl},
#endif
#ifdef SYS_dup
        {"dup", SYS_dup},
#endif
#ifdef SYS_dup3
        {"dup3", SYS_dup3},
#endif
#ifdef SYS_pipe2
        {"pipe2", SYS_pipe2},
#endif
#ifdef SYS_eventfd2
        {"eventfd2", SYS_eventfd2},
#endif
#ifdef SYS_socket
        {"socket", SYS_socket},
#endif
#ifdef SYS_connect
        {"connect", SYS_connect},
#endif
#ifdef SYS_bind
        {"bind", SYS_bind},
#endif
#ifdef SYS_getsockname
        {"getsockname", SYS_getsockname},
#endif
#ifdef SYS_setsockopt
        {"setsockopt", SYS_setsockopt},
#endif
#ifdef SYS_getsockopt
        {"getsockopt", SYS_getsockopt},
#endif
#ifdef SYS_kill
        {"kill", SYS_kill},
#endif
#ifdef SYS_tkill
        {"tkill", SYS_tkill},
#endif
#ifdef SYS_sysinfo
        {"sysinfo", SYS_sysinfo},
#endif
#ifdef SYS_getrusage
        {"getrusage", SYS_getrusage},
#endif
#ifdef SYS_times
        {"times", SYS_times},
#endif
#ifdef SYS_prlimit64
        {"prlimit64", SYS_prlimit64},
#endif
#ifdef SYS_arch_prctl
        {"arch_prctl", SYS_arch_prctl},
#endif
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i].name, name) == 0)
            return table[i].nr;
    return -1;
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
