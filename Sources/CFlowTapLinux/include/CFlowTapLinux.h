// The Linux calls Swift's Glibc module cannot reach: the <linux/if_tun.h> ioctls (function-like
// macros), struct ifreq's union members, signalfd and eventfd. Every function returns 0 (or a
// descriptor / value) on success and -errno on failure, reading errno before anything else can
// touch it.
#ifndef C_FLOWTAP_LINUX_H
#define C_FLOWTAP_LINUX_H

#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>

// IFNAMSIZ, counting the terminating NUL.
#define CFT_IFNAMSIZ 16

// TUNSETIFF flags.
static const int CFT_IFF_TAP = 0x0002;
static const int CFT_IFF_NO_PI = 0x1000;
static const int CFT_IFF_VNET_HDR = 0x4000;
static const int CFT_IFF_MULTI_QUEUE = 0x0100;

// TUNSETOFFLOAD flags. USO4/USO6 are absent from 6.1 headers, so they are spelled out here.
static const unsigned int CFT_TUN_F_CSUM = 0x01;
static const unsigned int CFT_TUN_F_TSO4 = 0x02;
static const unsigned int CFT_TUN_F_TSO6 = 0x04;
static const unsigned int CFT_TUN_F_TSO_ECN = 0x08;
static const unsigned int CFT_TUN_F_USO4 = 0x20;
static const unsigned int CFT_TUN_F_USO6 = 0x40;

/// ioctl(fd, TUNSETIFF): attach `fd` (an open /dev/net/tun) to the TAP `name`, creating it when
/// absent. The kernel's name for the device is copied into `name_out` (CFT_IFNAMSIZ bytes).
int cft_tun_attach(int fd, const char *name, int flags, char *name_out);

/// ioctl(fd, TUNSETOFFLOAD, flags).
int cft_tun_set_offload(int fd, unsigned int flags);

/// ioctl(fd, TUNSETVNETHDRSZ, &size).
int cft_tun_set_vnet_hdr_size(int fd, int size);

/// ioctl(SIOCGIFFLAGS): 1 when the link `name` is administratively up, 0 when down.
int cft_link_is_up(const char *name);

/// ioctl(SIOCGIFFLAGS) then ioctl(SIOCSIFFLAGS) with IFF_UP: `ip link set NAME up`.
int cft_link_set_up(const char *name);

/// pthread_sigmask(SIG_BLOCK, {INT, TERM, HUP, QUIT, USR1, USR2, PIPE}): threads created
/// afterwards inherit the mask, so these signals reach only the signalfd. SIGPIPE is also set
/// to SIG_IGN, should any thread unblock it.
int cft_block_handled_signals(void);

/// signalfd(-1, {INT, TERM, HUP, QUIT, USR1, USR2, PIPE}, SFD_CLOEXEC | SFD_NONBLOCK).
int cft_handled_signalfd(void);

/// read(fd, struct signalfd_siginfo): the signal number, or -errno (-EAGAIN when none is pending).
int cft_signalfd_read(int fd);

/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).
int cft_eventfd_create(void);

/// write(fd, 1): wakes every poller of the eventfd.
int cft_eventfd_signal(int fd);

/// pthread_setname_np(pthread_self(), name): the kernel keeps 15 bytes, shown by `top -H`.
int cft_set_thread_name(const char *name);

/// pthread_setaffinity_np(pthread_self(), {cpu}): pins the calling thread to one CPU.
int cft_pin_thread(int cpu);

/// sched_getaffinity(0): the number of CPUs this process may run on.
int cft_usable_cpus(void);


/// prctl(PR_CAPBSET_DROP) for every capability the kernel has: 0, or the first -errno (EPERM
/// without CAP_SETPCAP).
int cft_drop_bounding_set(void);

/// prctl(PR_CAP_AMBIENT_CLEAR_ALL), then capset(2) with empty effective, permitted and
/// inheritable sets.
int cft_clear_capabilities(void);

/// prctl(PR_SET_NO_NEW_PRIVS, 1).
int cft_set_no_new_privs(void);

/// seccomp(SECCOMP_SET_MODE_FILTER), on every thread (TSYNC), with a filter that allows the
/// `count` system call numbers in `allowed` (at most 200) and makes every other fail with EPERM
/// (logged by the kernel's audit, SECCOMP_FILTER_FLAG_LOG). With `trap`, every other raises
/// SIGSYS instead: a handler, installed here, logs the call's number once to stderr and makes
/// it fail with EPERM; such a call made while SIGSYS is blocked kills the process. open,
/// openat, socket and connect fail with EACCES without a log line (glibc copes); ioctl passes
/// only as TCGETS. Another
/// architecture's calls kill the process. With `output` (--output), openat also passes with
/// exactly CFT_OUTPUT_OPEN_FLAGS. -EFAULT: the program's layout is wrong (a bug).
int cft_install_seccomp(const int *allowed, int count, int trap, int output);

/// How the export thread opens an output file (`--output`), the one write open the seccomp
/// filter lets through: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC.
#define CFT_OUTPUT_OPEN_FLAGS (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
static inline int cft_output_open_flags(void) { return CFT_OUTPUT_OPEN_FLAGS; }

/// A hint that `address` will be read soon: the cache line is fetched while other work goes on.
/// Never faults (an address outside the process is ignored), and changes nothing the program
/// can see. Swift has no spelling of it.
static inline void cft_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// cft_syscall_number's answers for a name it cannot number.
enum { CFT_UNKNOWN_CALL = -1, CFT_ABSENT_CALL = -2 };

/// The system call number of `name` (SYS_name), for the names the allowlist uses:
/// CFT_ABSENT_CALL when this architecture has no such call, CFT_UNKNOWN_CALL for any other
/// name (a misspelling, or a call the table in seccomp.c lacks).
int cft_syscall_number(const char *name);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC), retried on EINTR: a descriptor or -errno.
int cft_accept(int fd);

/// recvmsg(fd, MSG_ERRQUEUE | MSG_DONTWAIT) of a socket with IP_RECVERR/IPV6_RECVERR: 1 and the
/// error (errno, ICMP type and code, the address that sent it: 4 or 16 bytes, and the start of
/// the datagram it quotes, the UDP payload: up to 64 bytes) when one was queued, 0 when none,
/// -errno.
int cft_read_icmp_error(int fd, int *ee_errno, int *ee_type, int *ee_code, unsigned char *offender, int *offender_len,
                        unsigned char *quoted, int *quoted_len);

/// ioctl(fd, TUNGETIFF): the name (CFT_IFNAMSIZ bytes) and IFF_ flags of the TAP an open
/// /dev/net/tun descriptor is attached to; -EBADFD when it is attached to none.
int cft_tun_get_iff(int fd, char *name_out, int *flags);

/// memfd_create(name, MFD_CLOEXEC): a descriptor or -errno.
int cft_memfd_create(const char *name);

/// The most descriptors one message carries (SCM_RIGHTS allows 253).
#define CFT_MAX_PASSED_FDS 64

/// sendmsg(2) of `length` bytes with `count` descriptors (SCM_RIGHTS), to `address` when it is
/// not NULL (a datagram socket), MSG_NOSIGNAL, retried on EINTR: the bytes sent or -errno.
int cft_send_with_fds(int fd, const void *data, size_t length, const int *fds, int count, const void *address,
                      unsigned int address_length);

/// The most datagrams one cft_send_datagrams call takes.
#define CFT_MAX_DATAGRAMS 64

/// sendmmsg(2) of `count` datagrams (at most CFT_MAX_DATAGRAMS), the i-th `lengths[i]` bytes at
/// `bases[i]`, each to `address`, MSG_NOSIGNAL, retried on EINTR: how many the kernel took,
/// from the first (fewer than `count` when it stopped at one), or -errno when it took none.
int cft_send_datagrams(int fd, const void *const *bases, const size_t *lengths, unsigned int count,
                       const void *address, unsigned int address_length);

/// recvmsg(2) of one message and the descriptors it carries (at most CFT_MAX_PASSED_FDS, made
/// close-on-exec), retried on EINTR: the bytes read or -errno; -EMSGSIZE (and no descriptor
/// kept) when the control data was cut short.
int cft_receive_with_fds(int fd, void *data, size_t length, int *fds, int *count);

/// getsockopt(fd, SO_PEERCRED): the uid of the process at the other end of a Unix socket, or
/// -errno.
int cft_peer_uid(int fd);

#endif
