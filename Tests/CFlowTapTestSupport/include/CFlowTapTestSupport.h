// What only the unit tests need from C: system call numbers of calls the product never names,
// and a private network namespace for the TAP tests. Not part of the product's shim.
#pragma once

/// The system call number of `name` for any call this architecture has, or -1.
int cftt_syscall_number(const char *name);

/// unshare(CLONE_NEWNET) for the calling thread: 0 or -errno. The root-only TAP tests make
/// their TAPs there, without touching the host's interfaces.
int cftt_unshare_network_namespace(void);
