#pragma once

#include "driver/config.h"
#include "driver/domain_store.h"
#include "driver/driver.h"

/*
 * The local (embedded) driver: the API of driver.h in-process over a state directory
 * (domain_store.h). Private to src/driver.
 */

typedef struct DomainEvents DomainEvents;
typedef struct DomainWatch DomainWatch;

typedef struct {
    DomainStore *store;
    CocoonConfig *config;
    DomainEvents *events; /* lifecycle callbacks (domain_events.h) */
    GMutex watch_lock;    /* guards watch */
    DomainWatch *watch;   /* the VMM watcher, started with the first callback (domain_watch.h) */
} LocalDriverPriv;

extern const CocoonDriver local_driver;

/**
 * local_conn_open: a connection of the local driver with persistent state in root and live
 * state in run (both created 0700), reading the host configuration. uri becomes conn->uri.
 * Returns a connection closed with cocoon_conn_close, or NULL with *err.
 */
CocoonConn *local_conn_open(const char *uri, const char *root, const char *run, CvError **err);

/* Host-wide entry points (local_host.c). */
/**
 * local_check_flags: refuse flags outside allowed, in libvirt's words ("unsupported flags
 * (0x%x) in function %s"); 0 or -1 with *err.
 */
int local_check_flags(unsigned int flags, unsigned int allowed, const char *func, CvError **err);

int local_connect_get_version(CocoonConn *conn, unsigned long long *ret_version, CvError **err);
char *local_connect_get_hostname(CocoonConn *conn, CvError **err);
char *local_connect_get_capabilities(CocoonConn *conn, CvError **err);
int local_node_get_info(CocoonConn *conn, CocoonNodeInfo *ret_info, CvError **err);

/** local_version_parse: "major.minor.micro" as major*1000000+minor*1000+micro, or -1. */
long long local_version_parse(const char *version);

/**
 * local_conn_autostart: start every persistent domain marked autostart that is not running
 * (cocoond at start-up). Returns how many failed to start; the first failure in *err.
 */
int local_conn_autostart(CocoonConn *conn, CvError **err);
