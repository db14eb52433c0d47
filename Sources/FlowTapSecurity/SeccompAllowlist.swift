import FlowTapBase

/// The system calls flowtap makes once privileges are dropped: forwarding, metering, export,
/// the control of its threads and shutdown. Everything else is refused (see
/// `cft_install_seccomp`): failing with EPERM (with `--seccomp trap`, logged once by flowtap
/// first). Each entry says who needs it.
/// Found with `strace -f` over the netns suite and checked by it; docs/security.md lists them
/// too, and DocumentedTablesTests holds that table to this one.
public enum SeccompAllowlist {
    public static let calls: [(name: String, why: String)] = [
        ("read", "frames from a TAP, the signalfd, eventfds"),
        ("write", "frames to a TAP, eventfds, logs and the closing lines, --output files"),
        ("rename", "--output: a complete file takes its name (PATH.partial to PATH)"),
        ("renameat", "--output: rename where the architecture has no rename"),
        ("renameat2", "--output: rename where the C library uses renameat2"),
        (
            "poll",
            "an idle forwarder waits on its TAP and the stop eventfd; the export thread's tick; the main thread's signalfd; the control thread's sockets"
        ),
        ("ppoll", "poll on architectures without poll (aarch64)"),
        (
            "sendto",
            "export datagrams on the raw sockets; answers to the control socket's and --metrics' clients (send, MSG_DONTWAIT)"
        ),
        ("close", "descriptors at shutdown"),
        ("futex", "thread joins, the counters' mutexes, the Swift runtime's locks"),
        ("clock_gettime", "the clocks, where the vDSO falls back to the system call"),
        (
            "clock_nanosleep",
            "usleep: the export thread's brief send retries, a forwarder waiting for ring room at shutdown"
        ),
        ("nanosleep", "usleep on older C libraries"),
        ("mmap", "memory: malloc's large blocks and arenas, thread stacks"),
        ("munmap", "memory: the same, given back"),
        ("mprotect", "memory: malloc arenas growing, thread stack guard pages"),
        ("madvise", "memory: a thread's stack given back at its exit"),
        ("brk", "memory: malloc's main heap"),
        ("mremap", "memory: realloc of large blocks"),
        ("rt_sigprocmask", "threads start with, and glibc restores, the signal mask"),
        ("rt_sigaction", "glibc installs its internal signal handler at the first thread creation"),
        ("rt_sigreturn", "return from a signal handler (the SIGSYS one)"),
        ("clone3", "starting the export thread and the forwarding threads"),
        ("clone", "starting threads with C libraries that have no clone3"),
        ("set_robust_list", "each new thread (glibc)"),
        ("rseq", "each new thread (glibc)"),
        ("prctl", "each thread names itself (PR_SET_NAME, for top -H)"),
        ("sched_setaffinity", "--cpus pins each forwarding thread"),
        ("sched_getaffinity", "the C library asks how many CPUs it may use"),
        ("sched_yield", "spin-waits in the Swift runtime and the C library"),
        ("getrandom", "each forwarder's sampling seed"),
        ("gettid", "glibc names threads and takes locks by thread id"),
        ("getpid", "abort(3) raises its signal at the process"),
        ("tgkill", "abort(3) raises its signal at the process"),
        ("getuid", "the log line that states the dropped uid"),
        ("getgid", "the log line that states the dropped gid"),
        ("newfstatat", "the log's timestamps (localtime checks /etc/localtime), stdio's first write"),
        ("fstat", "stdio's first write on older C libraries"),
        ("exit", "a thread ends"),
        ("exit_group", "the process ends"),
        ("restart_syscall", "a sleep interrupted by a signal resumes"),
        ("accept4", "the control socket and --metrics take a connection"),
        ("pread64", "the TAPs' kernel drop counters, from sysfs files opened at setup"),
        ("recvmsg", "ICMP errors for our export datagrams, from each collector's error queue (MSG_ERRQUEUE)"),
        (
            "sendmsg",
            "a handover: the TAPs, sockets and flow tables passed to the successor (SCM_RIGHTS); FDSTORE=1 to the service manager"
        ),
        ("getsockopt", "a handover or reload is taken only from root or flowtap's own user (SO_PEERCRED)")
    ]

    /// Allowed only as ioctl(fd, TCGETS), checked by the filter itself: stdio asks whether
    /// stdout is a terminal. A TAP's own ioctls need no capability, so no other request passes.
    public static let restricted = [
        ("ioctl", "TCGETS only: stdio's isatty(3) on stdout"),
        (
            "open, openat",
            "refused with EACCES and not logged (glibc tries on its own and copes: malloc reads /proc/sys/vm/overcommit_memory when a thread's heap first shrinks; localtime rereads /etc/localtime when it changes); with --output, openat passes as exactly O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, the export thread's next output file"
        ),
        (
            "socket, connect",
            "refused with EACCES and not logged: no socket is made or connected after the drop, and syslog(3), should anything call it, copes without its socket"
        )
    ]

    /// The numbers of `calls` that this architecture has (a name the shim does not know is
    /// caught by SeccompTests, not here).
    public static var numbers: [CInt] { calls.map { ProcessControl.syscallNumber($0.name) }.filter { $0 >= 0 } }
}
