#define _GNU_SOURCE
#include "CFlowTapTestSupport.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>

int cftt_syscall_number(const char *name) {
    static const struct { const char *name; int nr; } calls[] = {
        {"getppid", SYS_getppid}, {"getsid", SYS_getsid}, {"ioctl", SYS_ioctl},
        {"openat", SYS_openat},   {"socket", SYS_socket}, {"connect", SYS_connect},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
        if (strcmp(calls[i].name, name) == 0)
            return calls[i].nr;
    return -1;
}

int cftt_unshare_network_namespace(void) {
    return unshare(CLONE_NEWNET) < 0 ? -errno : 0;
}
