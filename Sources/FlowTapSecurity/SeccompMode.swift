/// What the seccomp filter does with a system call outside `SeccompAllowlist` (`--seccomp`).
public enum SeccompMode: String, Sendable, CaseIterable {
    /// The call fails with EPERM, and the kernel's audit log records it where auditing is on.
    /// It cannot end the process, whatever thread makes it and whatever it blocks.
    case on
    /// The call raises SIGSYS, and flowtap logs its number and makes it fail with EPERM: for
    /// finding a gap in the allowlist (the netns tests run so). A call made while SIGSYS is
    /// blocked, as glibc blocks every signal while it starts or ends a thread, ends the process
    /// instead ("Bad system call"), so this is not for production.
    case trap
    /// No filter.
    case off
}
