// The seccomp filter flowtap installs after its privilege drop (cft_install_seccomp), the
// SIGSYS handler of --seccomp trap, and the numbers of the calls its allowlist names
// (FlowTapSecurity/SeccompAllowlist.swift). The BPF program is built with labels, and every jump offset
// is computed from where its label lands, never counted by hand.
#define _GNU_SOURCE
#include "CFlowTapLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

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

// A BPF program under construction. A jump names its targets by label; `resolve` turns them
// into offsets once every label has its place. Classic BPF jumps go forward only, at most 255
// instructions: a label behind its jump, or too far, is an error, not a wrong filter.
enum label { NEXT = -1, ARCH_OK, NOT_OPENAT, NOT_OPEN, NOT_IOCTL, REFUSE, DENY_EACCES, ALLOW, LABELS };
enum { PROGRAM_MAX = 32 + 200 };

struct program {
    struct sock_filter code[PROGRAM_MAX];
    signed char jt[PROGRAM_MAX], jf[PROGRAM_MAX];   // the labels of each jump, NEXT for none
    int at[LABELS];                                  // where each label landed, -1 before
    int n;
};

static void emit(struct program *p, struct sock_filter instruction, enum label jt, enum label jf) {
    if (p->n < PROGRAM_MAX) {
        p->code[p->n] = instruction;
        p->jt[p->n] = (signed char)jt;
        p->jf[p->n] = (signed char)jf;
    }
    p->n++;
}

static void statement(struct program *p, unsigned short code, unsigned k) {
    emit(p, (struct sock_filter)BPF_STMT(code, k), NEXT, NEXT);
}

/// if A == k goto jt else goto jf
static void jump_if_equal(struct program *p, unsigned k, enum label jt, enum label jf) {
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0), jt, jf);
}

static void place(struct program *p, enum label l) { p->at[l] = p->n; }

static int offset(const struct program *p, int from, enum label l) {
    if (l == NEXT) return 0;
    int distance = p->at[l] - from - 1;
    return p->at[l] < 0 || distance < 0 || distance > 255 ? -1 : distance;
}

static int resolve(struct program *p) {
    if (p->n > PROGRAM_MAX) return -E2BIG;
    for (int i = 0; i < p->n; i++) {
        if (BPF_CLASS(p->code[i].code) != BPF_JMP) continue;
        int jt = offset(p, i, p->jt[i]), jf = offset(p, i, p->jf[i]);
        if (jt < 0 || jf < 0) return -EFAULT;
        p->code[i].jt = (unsigned char)jt;
        p->code[i].jf = (unsigned char)jf;
    }
    return 0;
}

static void load_arch(struct program *p) { statement(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)); }
static void load_number(struct program *p) { statement(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)); }
/// The low word of argument i (little-endian: where a flags or request argument lives).
static void load_argument(struct program *p, int i) {
    statement(p, BPF_LD | BPF_W | BPF_ABS, (unsigned)offsetof(struct seccomp_data, args[i]));
}

int cft_install_seccomp(const int *allowed, int count, int trap, int output) {
#ifndef CFT_AUDIT_ARCH
    (void)allowed;
    (void)count;
    (void)trap;
    (void)output;
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
    static struct program p;
    memset(&p, 0, sizeof(p));
    for (int l = 0; l < LABELS; l++) p.at[l] = -1;

    // Another architecture's calls (another ABI's numbers) kill the process.
    load_arch(&p);
    jump_if_equal(&p, CFT_AUDIT_ARCH, ARCH_OK, NEXT);
    statement(&p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    place(&p, ARCH_OK);
    load_number(&p);
    // open and openat fail with EACCES, unlogged: glibc opens files on its own and copes
    // (malloc reads /proc/sys/vm/overcommit_memory when a thread's heap first shrinks,
    // localtime rereads a changed /etc/localtime). With --output, openat passes with exactly
    // the flags of the export thread's next output file (CFT_OUTPUT_OPEN_FLAGS), which it
    // opens under the filter at each rotation.
    if (output) {
        jump_if_equal(&p, SYS_openat, NEXT, NOT_OPENAT);
        load_argument(&p, 2);
        jump_if_equal(&p, CFT_OUTPUT_OPEN_FLAGS, ALLOW, DENY_EACCES);
    } else {
        jump_if_equal(&p, SYS_openat, DENY_EACCES, NOT_OPENAT);
    }
    place(&p, NOT_OPENAT);
#ifdef SYS_open
    jump_if_equal(&p, SYS_open, DENY_EACCES, NOT_OPEN);
#endif
    place(&p, NOT_OPEN);
    // socket and connect fail with EACCES, unlogged: no socket is made or connected after
    // the drop, and syslog(3), should anything call it, copes without its socket.
    jump_if_equal(&p, SYS_socket, DENY_EACCES, NEXT);
    jump_if_equal(&p, SYS_connect, DENY_EACCES, NEXT);
    // ioctl only as TCGETS (stdio's isatty): a TAP's own ioctls need no capability, so no
    // other request may pass.
    jump_if_equal(&p, SYS_ioctl, NEXT, NOT_IOCTL);
    load_argument(&p, 1);
    jump_if_equal(&p, TCGETS, ALLOW, REFUSE);
    place(&p, NOT_IOCTL);
    for (int i = 0; i < count; i++)
        jump_if_equal(&p, (unsigned)allowed[i], ALLOW, NEXT);
    // A trapped call made while SIGSYS is blocked (glibc blocks every signal inside
    // pthread_create and at thread exit) kills the process: the kernel cannot deliver the
    // signal, so it forces the default action. Hence EPERM by default, which cannot kill.
    place(&p, REFUSE);
    statement(&p, BPF_RET | BPF_K, trap ? SECCOMP_RET_TRAP : SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    place(&p, DENY_EACCES);
    statement(&p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA));
    place(&p, ALLOW);
    statement(&p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    int bad = resolve(&p);
    if (bad < 0)
        return bad;

    struct sock_fprog fprog = {.len = (unsigned short)p.n, .filter = p.code};
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

// The calls FlowTapSecurity/SeccompAllowlist.swift names, and no others: a name missing here is a
// misspelling or a new call, which SeccompTests catches (CFT_UNKNOWN_CALL). A call this
// architecture lacks (aarch64 has no poll or epoll_wait) is known, and absent.
#define CFT_ABSENT CFT_ABSENT_CALL
static const struct { const char *name; int nr; } allowlist_calls[] = {
#ifdef SYS_read
    {"read", SYS_read},
#else
    {"read", CFT_ABSENT},
#endif
#ifdef SYS_write
    {"write", SYS_write},
#else
    {"write", CFT_ABSENT},
#endif
#ifdef SYS_rename
    {"rename", SYS_rename},
#else
    {"rename", CFT_ABSENT},
#endif
#ifdef SYS_renameat
    {"renameat", SYS_renameat},
#else
    {"renameat", CFT_ABSENT},
#endif
#ifdef SYS_renameat2
    {"renameat2", SYS_renameat2},
#else
    {"renameat2", CFT_ABSENT},
#endif
#ifdef SYS_poll
    {"poll", SYS_poll},
#else
    {"poll", CFT_ABSENT},
#endif
#ifdef SYS_ppoll
    {"ppoll", SYS_ppoll},
#else
    {"ppoll", CFT_ABSENT},
#endif
#ifdef SYS_sendto
    {"sendto", SYS_sendto},
#else
    {"sendto", CFT_ABSENT},
#endif
#ifdef SYS_close
    {"close", SYS_close},
#else
    {"close", CFT_ABSENT},
#endif
#ifdef SYS_futex
    {"futex", SYS_futex},
#else
    {"futex", CFT_ABSENT},
#endif
#ifdef SYS_clock_gettime
    {"clock_gettime", SYS_clock_gettime},
#else
    {"clock_gettime", CFT_ABSENT},
#endif
#ifdef SYS_clock_nanosleep
    {"clock_nanosleep", SYS_clock_nanosleep},
#else
    {"clock_nanosleep", CFT_ABSENT},
#endif
#ifdef SYS_nanosleep
    {"nanosleep", SYS_nanosleep},
#else
    {"nanosleep", CFT_ABSENT},
#endif
#ifdef SYS_mmap
    {"mmap", SYS_mmap},
#else
    {"mmap", CFT_ABSENT},
#endif
#ifdef SYS_munmap
    {"munmap", SYS_munmap},
#else
    {"munmap", CFT_ABSENT},
#endif
#ifdef SYS_mprotect
    {"mprotect", SYS_mprotect},
#else
    {"mprotect", CFT_ABSENT},
#endif
#ifdef SYS_madvise
    {"madvise", SYS_madvise},
#else
    {"madvise", CFT_ABSENT},
#endif
#ifdef SYS_brk
    {"brk", SYS_brk},
#else
    {"brk", CFT_ABSENT},
#endif
#ifdef SYS_mremap
    {"mremap", SYS_mremap},
#else
    {"mremap", CFT_ABSENT},
#endif
#ifdef SYS_rt_sigprocmask
    {"rt_sigprocmask", SYS_rt_sigprocmask},
#else
    {"rt_sigprocmask", CFT_ABSENT},
#endif
#ifdef SYS_rt_sigaction
    {"rt_sigaction", SYS_rt_sigaction},
#else
    {"rt_sigaction", CFT_ABSENT},
#endif
#ifdef SYS_rt_sigreturn
    {"rt_sigreturn", SYS_rt_sigreturn},
#else
    {"rt_sigreturn", CFT_ABSENT},
#endif
#ifdef SYS_clone3
    {"clone3", SYS_clone3},
#else
    {"clone3", CFT_ABSENT},
#endif
#ifdef SYS_clone
    {"clone", SYS_clone},
#else
    {"clone", CFT_ABSENT},
#endif
#ifdef SYS_set_robust_list
    {"set_robust_list", SYS_set_robust_list},
#else
    {"set_robust_list", CFT_ABSENT},
#endif
#ifdef SYS_rseq
    {"rseq", SYS_rseq},
#else
    {"rseq", CFT_ABSENT},
#endif
#ifdef SYS_prctl
    {"prctl", SYS_prctl},
#else
    {"prctl", CFT_ABSENT},
#endif
#ifdef SYS_sched_setaffinity
    {"sched_setaffinity", SYS_sched_setaffinity},
#else
    {"sched_setaffinity", CFT_ABSENT},
#endif
#ifdef SYS_sched_getaffinity
    {"sched_getaffinity", SYS_sched_getaffinity},
#else
    {"sched_getaffinity", CFT_ABSENT},
#endif
#ifdef SYS_sched_yield
    {"sched_yield", SYS_sched_yield},
#else
    {"sched_yield", CFT_ABSENT},
#endif
#ifdef SYS_getrandom
    {"getrandom", SYS_getrandom},
#else
    {"getrandom", CFT_ABSENT},
#endif
#ifdef SYS_gettid
    {"gettid", SYS_gettid},
#else
    {"gettid", CFT_ABSENT},
#endif
#ifdef SYS_getpid
    {"getpid", SYS_getpid},
#else
    {"getpid", CFT_ABSENT},
#endif
#ifdef SYS_tgkill
    {"tgkill", SYS_tgkill},
#else
    {"tgkill", CFT_ABSENT},
#endif
#ifdef SYS_getuid
    {"getuid", SYS_getuid},
#else
    {"getuid", CFT_ABSENT},
#endif
#ifdef SYS_getgid
    {"getgid", SYS_getgid},
#else
    {"getgid", CFT_ABSENT},
#endif
#ifdef SYS_newfstatat
    {"newfstatat", SYS_newfstatat},
#else
    {"newfstatat", CFT_ABSENT},
#endif
#ifdef SYS_fstat
    {"fstat", SYS_fstat},
#else
    {"fstat", CFT_ABSENT},
#endif
#ifdef SYS_exit
    {"exit", SYS_exit},
#else
    {"exit", CFT_ABSENT},
#endif
#ifdef SYS_exit_group
    {"exit_group", SYS_exit_group},
#else
    {"exit_group", CFT_ABSENT},
#endif
#ifdef SYS_restart_syscall
    {"restart_syscall", SYS_restart_syscall},
#else
    {"restart_syscall", CFT_ABSENT},
#endif
#ifdef SYS_accept4
    {"accept4", SYS_accept4},
#else
    {"accept4", CFT_ABSENT},
#endif
#ifdef SYS_pread64
    {"pread64", SYS_pread64},
#else
    {"pread64", CFT_ABSENT},
#endif
#ifdef SYS_recvmsg
    {"recvmsg", SYS_recvmsg},
#else
    {"recvmsg", CFT_ABSENT},
#endif
#ifdef SYS_sendmsg
    {"sendmsg", SYS_sendmsg},
#else
    {"sendmsg", CFT_ABSENT},
#endif
#ifdef SYS_accept
    {"accept", SYS_accept},
#else
    {"accept", CFT_ABSENT},
#endif
#ifdef SYS_fcntl
    {"fcntl", SYS_fcntl},
#else
    {"fcntl", CFT_ABSENT},
#endif
#ifdef SYS_getsockopt
    {"getsockopt", SYS_getsockopt},
#else
    {"getsockopt", CFT_ABSENT},
#endif
#ifdef SYS_getpeername
    {"getpeername", SYS_getpeername},
#else
    {"getpeername", CFT_ABSENT},
#endif
#ifdef SYS_epoll_wait
    {"epoll_wait", SYS_epoll_wait},
#else
    {"epoll_wait", CFT_ABSENT},
#endif
#ifdef SYS_epoll_pwait
    {"epoll_pwait", SYS_epoll_pwait},
#else
    {"epoll_pwait", CFT_ABSENT},
#endif
#ifdef SYS_epoll_ctl
    {"epoll_ctl", SYS_epoll_ctl},
#else
    {"epoll_ctl", CFT_ABSENT},
#endif
#ifdef SYS_timerfd_create
    {"timerfd_create", SYS_timerfd_create},
#else
    {"timerfd_create", CFT_ABSENT},
#endif
#ifdef SYS_timerfd_settime
    {"timerfd_settime", SYS_timerfd_settime},
#else
    {"timerfd_settime", CFT_ABSENT},
#endif
#ifdef SYS_setpriority
    {"setpriority", SYS_setpriority},
#else
    {"setpriority", CFT_ABSENT},
#endif
};

int cft_syscall_number(const char *name) {
    for (size_t i = 0; i < sizeof(allowlist_calls) / sizeof(allowlist_calls[0]); i++)
        if (strcmp(allowlist_calls[i].name, name) == 0)
            return allowlist_calls[i].nr;
    return CFT_UNKNOWN_CALL;
}
