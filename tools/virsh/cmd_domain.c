/* cocoonvirsh: domain definition and identity commands (define … autostart). */

#include <limits.h>

#include "cli.h"

static bool cmd_define(CliCtl *ctl, const CliArgs *args)
{
    const char *file = cli_args_string(args, "file");
    g_autofree char *xml = NULL;
    g_autoptr(CvError) err = NULL;
    g_autoptr(CocoonDomain) dom = NULL;
    unsigned int flags = 0;
    CocoonConn *conn;

    if (!(xml = cli_file_read(file)) || !(conn = cli_conn(ctl)))
        return false;
    if (cli_args_bool(args, "validate"))
        flags |= VIR_DOMAIN_DEFINE_VALIDATE;
    dom = CLI_CALL(conn, domainDefineXMLFlags, "virDomainDefineXMLFlags", NULL, &err, conn, xml,
                   flags, &err);
    if (!dom) {
        cli_error("Failed to define domain from %s", file);
        cli_error_report(err);
        return false;
    }
    cli_print_extra(ctl, "Domain '%s' defined from %s\n", dom->name, file);
    return true;
}

static bool cmd_undefine(CliCtl *ctl, const CliArgs *args)
{
    const char *name = cli_args_string(args, "domain");
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    unsigned int flags = 0;

    if (!dom)
        return false;
    if (cli_args_bool(args, "managed-save"))
        flags |= VIR_DOMAIN_UNDEFINE_MANAGED_SAVE;
    if (cli_args_bool(args, "snapshots-metadata"))
        flags |= VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
    if (cli_args_bool(args, "nvram"))
        flags |= VIR_DOMAIN_UNDEFINE_NVRAM;
    if (cli_args_bool(args, "keep-nvram"))
        flags |= VIR_DOMAIN_UNDEFINE_KEEP_NVRAM;
    if (CLI_CALL(dom->conn, domainUndefineFlags, "virDomainUndefineFlags", -1, &err, dom, flags,
                 &err) < 0) {
        cli_error("Failed to undefine domain '%s'", name);
        cli_error_report(err);
        return false;
    }
    cli_print_extra(ctl, "Domain '%s' has been undefined\n", name);
    return true;
}

static bool cmd_dumpxml(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    g_autofree char *xml = NULL;
    unsigned int flags = 0;

    if (!dom)
        return false;
    if (cli_args_bool(args, "inactive"))
        flags |= VIR_DOMAIN_XML_INACTIVE;
    if (cli_args_bool(args, "security-info"))
        flags |= VIR_DOMAIN_XML_SECURE;
    if (cli_args_bool(args, "update-cpu"))
        flags |= VIR_DOMAIN_XML_UPDATE_CPU;
    if (cli_args_bool(args, "migratable"))
        flags |= VIR_DOMAIN_XML_MIGRATABLE;
    xml = CLI_CALL(dom->conn, domainGetXMLDesc, "virDomainGetXMLDesc", NULL, &err, dom, flags,
                   &err);
    if (!xml) {
        cli_error_report(err);
        return false;
    }
    fputs(xml, stdout);
    return true;
}

static bool cmd_domuuid(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom =
        cli_domain_lookup(ctl, args, "domain", CLI_BY_ID | CLI_BY_NAME);
    char uuid[DOMAIN_UUID_STRING_LEN];

    if (!dom)
        return false;
    cli_uuid_string(dom, uuid);
    printf("%s\n", uuid);
    return true;
}

static bool cmd_domname(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom =
        cli_domain_lookup(ctl, args, "domain", CLI_BY_ID | CLI_BY_UUID);

    if (!dom)
        return false;
    printf("%s\n", dom->name);
    return true;
}

static bool cmd_domid(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom =
        cli_domain_lookup(ctl, args, "domain", CLI_BY_NAME | CLI_BY_UUID);

    if (!dom)
        return false;
    if (dom->id < 0)
        printf("-\n");
    else
        printf("%d\n", dom->id);
    return true;
}

static bool cmd_domstate(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    int state, reason;

    if (!dom)
        return false;
    if (CLI_CALL(dom->conn, domainGetState, "virDomainGetState", -1, &err, dom, &state, &reason,
                 0, &err) < 0) {
        cli_error_report(err);
        return false;
    }
    if (cli_args_bool(args, "reason"))
        printf("%s (%s)\n", cli_state_to_string(state), cli_state_reason_to_string(state, reason));
    else
        printf("%s\n", cli_state_to_string(state));
    return true;
}

#define INFO_LINE(label, fmt, ...) printf("%-15s " fmt "\n", label, __VA_ARGS__)

static bool cmd_dominfo(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    CocoonDomainInfo info = { 0 };
    char uuid[DOMAIN_UUID_STRING_LEN];
    int persistent, autostart;
    bool ok = true;

    if (!dom)
        return false;
    cli_uuid_string(dom, uuid);
    if (dom->id < 0)
        INFO_LINE("Id:", "%s", "-");
    else
        INFO_LINE("Id:", "%d", dom->id);
    INFO_LINE("Name:", "%s", dom->name);
    INFO_LINE("UUID:", "%s", uuid);
    {
        g_autoptr(CvError) oerr = NULL;
        g_autofree char *os_type = CLI_CALL(dom->conn, domainGetOSType, "virDomainGetOSType",
                                            NULL, &oerr, dom, &oerr);
        if (os_type)
            INFO_LINE("OS Type:", "%s", os_type);
    }
    if (CLI_CALL(dom->conn, domainGetInfo, "virDomainGetInfo", -1, &err, dom, &info, &err) == 0) {
        INFO_LINE("State:", "%s", cli_state_to_string(info.state));
        INFO_LINE("CPU(s):", "%u", info.nr_virt_cpu);
        if (info.cpu_time_ns != 0)
            INFO_LINE("CPU time:", "%.1lfs", (double)info.cpu_time_ns / 1000000000.0);
        if (info.max_mem_kib != UINT_MAX && info.max_mem_kib != ULLONG_MAX)
            INFO_LINE("Max memory:", "%llu KiB", info.max_mem_kib);
        else
            INFO_LINE("Max memory:", "%s", "no limit");
        INFO_LINE("Used memory:", "%llu KiB", info.memory_kib);
    } else {
        ok = false; /* reported after the rest, as virsh does */
    }
    {
        g_autoptr(CvError) perr = NULL;

        persistent = CLI_CALL(dom->conn, domainIsPersistent, "virDomainIsPersistent", -1, &perr,
                              dom, &perr);
        INFO_LINE("Persistent:", "%s", persistent < 0 ? "unknown" : persistent ? "yes" : "no");
    }
    {
        g_autoptr(CvError) aerr = NULL;

        if (CLI_CALL(dom->conn, domainGetAutostart, "virDomainGetAutostart", -1, &aerr, dom,
                     &autostart, &aerr) == 0)
            INFO_LINE("Autostart:", "%s", autostart ? "enable" : "disable");
    }
    {
        g_autoptr(CvError) merr = NULL;
        int saved = CLI_CALL(dom->conn, domainHasManagedSaveImage,
                             "virDomainHasManagedSaveImage", -1, &merr, dom, 0, &merr);
        INFO_LINE("Managed save:", "%s", saved < 0 ? "unknown" : saved ? "yes" : "no");
    }
    if (!ok)
        cli_error_report(err);
    return ok;
}

static bool cmd_domxml_to_native(CliCtl *ctl, const CliArgs *args)
{
    const char *format = cli_args_string(args, "format");
    const char *file = cli_args_string(args, "xml");
    g_autoptr(CvError) err = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *native = NULL;
    CocoonConn *conn;

    if (file && cli_args_string(args, "domain")) {
        cli_error("Options --domain and --xml are mutually exclusive");
        return false;
    }
    if (!(conn = cli_conn(ctl)))
        return false;
    if (file) {
        if (!(xml = cli_file_read(file)))
            return false;
    } else if (cli_args_string(args, "domain")) {
        g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);

        if (!dom)
            return false;
        xml = CLI_CALL(conn, domainGetXMLDesc, "virDomainGetXMLDesc", NULL, &err, dom, 0, &err);
        if (!xml) {
            cli_error_report(err);
            return false;
        }
    } else {
        cli_error("either --domain or --xml must be specified");
        return false;
    }
    native = CLI_CALL(conn, connectDomainXMLToNative, "virConnectDomainXMLToNative", NULL, &err,
                      conn, format, xml, 0, &err);
    if (!native) {
        cli_error_report(err);
        return false;
    }
    fputs(native, stdout);
    return true;
}

static bool cmd_autostart(CliCtl *ctl, const CliArgs *args)
{
    const char *name = cli_args_string(args, "domain");
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    bool enable = !cli_args_bool(args, "disable");

    if (!dom)
        return false;
    if (CLI_CALL(dom->conn, domainSetAutostart, "virDomainSetAutostart", -1, &err, dom, enable,
                 &err) < 0) {
        if (enable)
            cli_error("Failed to mark domain '%s' as autostarted", name);
        else
            cli_error("Failed to unmark domain '%s' as autostarted", name);
        cli_error_report(err);
        return false;
    }
    if (enable)
        cli_print_extra(ctl, "Domain '%s' marked as autostarted\n", name);
    else
        cli_print_extra(ctl, "Domain '%s' unmarked as autostarted\n", name);
    return true;
}

static const CliOpt opts_define[] = {
    { "file", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL,
      "file containing an XML domain description" },
    { "validate", CLI_OPT_BOOL, 0, "validate the XML against the schema" },
    { NULL },
};

static const CliOpt opts_undefine[] = {
    CLI_OPT_DOMAIN,
    { "managed-save", CLI_OPT_BOOL, 0, "remove domain managed state file" },
    { "snapshots-metadata", CLI_OPT_BOOL, 0,
      "remove all domain snapshot metadata, if inactive" },
    { "nvram", CLI_OPT_BOOL, 0, "remove nvram file" },
    { "keep-nvram", CLI_OPT_BOOL, 0, "keep nvram file" },
    { NULL },
};

static const CliOpt opts_dumpxml[] = {
    CLI_OPT_DOMAIN,
    { "inactive", CLI_OPT_BOOL, 0, "show inactive defined XML" },
    { "security-info", CLI_OPT_BOOL, 0, "include security sensitive information in XML dump" },
    { "update-cpu", CLI_OPT_BOOL, 0, "update guest CPU according to host CPU" },
    { "migratable", CLI_OPT_BOOL, 0, "provide XML suitable for migrations" },
    { NULL },
};

static const CliOpt opts_domstate[] = {
    CLI_OPT_DOMAIN,
    { "reason", CLI_OPT_BOOL, 0, "also print reason for the state" },
    { NULL },
};

static const CliOpt opts_domxml_to_native[] = {
    { "format", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL,
      "target config data type format" },
    { "xml", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "xml data file to export from" },
    { "domain", CLI_OPT_STRING, 0, "domain name, id or uuid" },
    { NULL },
};

static const CliOpt opts_autostart[] = {
    CLI_OPT_DOMAIN,
    { "disable", CLI_OPT_BOOL, 0, "disable autostarting" },
    { NULL },
};

const CliCmd cli_cmds_domain[] = {
    { "autostart", CLI_GROUP_DOMAIN, cmd_autostart, opts_autostart, "autostart a domain",
      "Configure a domain to be automatically started at boot." },
    { "define", CLI_GROUP_DOMAIN, cmd_define, opts_define,
      "define (but don't start) a domain from an XML file", "Define a domain." },
    { "domid", CLI_GROUP_DOMAIN, cmd_domid, cli_opts_domain_only,
      "convert a domain name or UUID to domain id", "Convert a domain name to domain id" },
    { "domname", CLI_GROUP_DOMAIN, cmd_domname, cli_opts_domain_only,
      "convert a domain id or UUID to domain name", "Convert a domain id or UUID to domain name" },
    { "domuuid", CLI_GROUP_DOMAIN, cmd_domuuid, cli_opts_domain_only,
      "convert a domain name or id to domain UUID", "Convert a domain name or id to domain UUID" },
    { "domxml-to-native", CLI_GROUP_DOMAIN, cmd_domxml_to_native, opts_domxml_to_native,
      "Convert domain XML to native config",
      "Convert domain XML config to a native guest configuration format "
      "(firecracker-api, cloud-hypervisor-argv, ...)." },
    { "dumpxml", CLI_GROUP_DOMAIN, cmd_dumpxml, opts_dumpxml, "domain information in XML",
      "Output the domain information as an XML dump to stdout." },
    { "undefine", CLI_GROUP_DOMAIN, cmd_undefine, opts_undefine, "undefine a domain",
      "Undefine an inactive domain, or convert persistent to transient." },
    { "dominfo", CLI_GROUP_MONITOR, cmd_dominfo, cli_opts_domain_only, "domain information",
      "Returns basic information about the domain." },
    { "domstate", CLI_GROUP_MONITOR, cmd_domstate, opts_domstate, "domain state",
      "Returns state about a domain." },
    { NULL },
};
