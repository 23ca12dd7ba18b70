/* The simulated guest: boot log, login prompt, echo, poweroff/reboot, on one or more ports. */
#pragma once

#include <glib.h>

typedef enum {
    SIM_GUEST_POWEROFF,
    SIM_GUEST_REBOOT,
    SIM_GUEST_CRASH, /* a vCPU stops on an error the hypervisor cannot handle */
    SIM_GUEST_TRIPLE_FAULT, /* a guest triple fault (KVM's shutdown exit) */
} SimGuestEvent;

/* Called (from the main loop) after the guest printed its final message. */
typedef void (*SimGuestEventFn)(SimGuestEvent ev, gpointer user_data);

typedef struct SimGuest SimGuest;

/** sim_guest_new: a powered-off guest; @fn is told when the guest powers off or reboots. */
SimGuest *sim_guest_new(SimGuestEventFn fn, gpointer user_data);

/** sim_guest_free: removes every port (closing the fds it owns); accepts NULL. */
void sim_guest_free(SimGuest *g);

/**
 * sim_guest_port_add_fds:
 * @name: guest device name the kernel command line refers to ("ttyS0", "hvc0")
 * @in_fd: input, -1 for none; @out_fd: output, -1 for none (may equal @in_fd)
 * @extra_fd: an fd to keep open while the port exists (a PTY's subordinate side), or -1
 * @owned: whether the port closes @in_fd/@out_fd on removal (@extra_fd is always closed)
 */
void sim_guest_port_add_fds(SimGuest *g, const char *name, int in_fd, int out_fd, int extra_fd,
                            gboolean owned);

/**
 * sim_guest_port_add_pty: a port on the master side of a PTY the VMM made (CH's pty mode,
 * owned), as CH serves it: while nobody holds the subordinate end, output is held back and the
 * PTY is looked at again once a second; the output then goes out, and input is read.
 */
void sim_guest_port_add_pty(SimGuest *g, const char *name, int master);

/** sim_guest_port_add_listener: a port served to one client at a time of the listening socket
 * @listen_fd (owned); output is buffered while no client is connected. */
void sim_guest_port_add_listener(SimGuest *g, const char *name, int listen_fd);

/** sim_guest_ports_clear: removes every port. */
void sim_guest_ports_clear(SimGuest *g);

/**
 * sim_guest_boot:
 * Starts the guest: the ports named by console= in @cmdline (or "hvc0" when @cmdline has none)
 * get a short boot log (@info lines included), then a login prompt, and take input.
 */
void sim_guest_boot(SimGuest *g, const char *cmdline, const char *const *info);

/** sim_guest_resume_booted: the guest continues an earlier boot (restore): prompt only. */
void sim_guest_resume_booted(SimGuest *g, const char *cmdline);

/** sim_guest_stop: the VM is gone: no more output, input is dropped. */
void sim_guest_stop(SimGuest *g);

/** sim_guest_set_paused: while paused the guest neither prints nor reads (input queues up). */
void sim_guest_set_paused(SimGuest *g, gboolean paused);

/**
 * sim_guest_request:
 * Asks the guest to power off (ACPI power button) or reboot (Ctrl+Alt+Del). Ignored when the
 * guest is not up, or when @from_host and COCOON_SIM_IGNORE_SHUTDOWN=1. Deferred while paused.
 */
void sim_guest_request(SimGuest *g, SimGuestEvent ev, gboolean from_host);

/**
 * sim_guest_watch_signals: SIGUSR1 makes the guest power off, SIGUSR2 reboot, as if asked from
 * inside (a test's stand-in for a guest that halts or resets on its own).
 */
void sim_guest_watch_signals(SimGuest *g);

/** sim_console_tty_raw: puts @fd in raw mode if it is a TTY; restored by sim_console_tty_restore. */
void sim_console_tty_raw(int fd);

/** sim_console_tty_restore: restores what sim_console_tty_raw changed. */
void sim_console_tty_restore(void);
