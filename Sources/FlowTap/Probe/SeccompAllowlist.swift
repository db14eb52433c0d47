import CFlowTapLinux

/// The system calls flowtap makes once privileges are dropped: forwarding, metering, export,
/// the control of its threads and shutdown. Everything else is refused (see
/// `cft_install_seccomp`): logged once, and failing with EPERM. Each entry says who needs it.
/// Found with `strace -f` over the netns suite and checked by it; the README lists them too.
public enum SeccompAllowlist {
    public static let calls: [(name: String, why: String)] = [
        ("read", "frames from a TAP, the signalfd, eventfds"),
        ("write", "frames to a TAP, eventfds, logs and the closing lines"),
        ("poll", "an idle forwarder waits on its TAP and the stop eventfd; the walker's tick"),
        ("ppoll", "poll on architectures without poll"),
        ("sendto", "export datagrams on the raw sockets"),
        ("close", "descriptors at shutdown"),
        ("futex", "mutexes and condition variables (counters, thread joins, the Swift runtime)"),
        ("clock_gettime", "the clocks, where the vDSO falls back to the system call"),
        ("clock_nanosleep", "usleep: the walker's brief send retries, forwarders waiting for ring room at shutdown"),
        ("nanosleep", "usleep on older C libraries"),
        ("mmap", "memory: malloc of large blocks, thread stacks"),
        ("munmap", "memory"),
        ("mprotect", "memory: thread stack guard pages, malloc arenas"),
        ("madvise", "memory: malloc giving pages back, thread exit"),
        ("brk", "memory: malloc"),
        ("mremap", "memory: realloc of large blocks"),
        ("rt_sigprocmask", "threads start and stop with the signal mask"),
        ("rt_sigreturn", "return from the SIGSYS handler"),
        ("clone3", "starting the walker and forwarding threads"),
        ("clone", "starting threads on C libraries without clone3"),
        ("set_robust_list", "each new thread (glibc)"),
        ("rseq", "each new thread (glibc)"),
        ("prctl", "naming each thread (PR_SET_NAME)"),
        ("sched_setaffinity", "--cpus pinning"),
        ("sched_getaffinity", "the C library asks for CPUs"),
        ("sched_yield", "spin-waits in the Swift runtime and the C library"),
        ("getrandom", "random seeds (sampling, Swift's hashing)"),
        ("gettid", "the C library and Swift runtime name threads"),
        ("getpid", "the C library"),
        ("tgkill", "abort(3) on an internal error raises its signal"),
        ("exit", "a thread ends"),
        ("exit_group", "the process ends"),
        ("newfstatat", "stdio's first write on a stream"),
        ("fstat", "stdio's first write on a stream (older C libraries)"),
        ("ioctl", "stdio asks whether stdout is a terminal (TCGETS)"),
        ("lseek", "stdio"),
        ("membarrier", "the Swift runtime"),
        ("restart_syscall", "a sleep interrupted by a signal resumes"),
    ]

    /// The numbers of `calls` that this architecture has.
    public static var numbers: [CInt] { calls.map { cft_syscall_number($0.name) }.filter { $0 >= 0 } }
}
