#!/usr/bin/python3
"""Run under Xvfb: virt-manager's own objects (Debian's 4.1, /usr/share/virt-manager) on URI:
its connection, the domain DOM, the domain window with its snapshot page, whose list is filled
as the GUI fills it. Prints one JSON object: whether virt-manager offers snapshots, the list's
rows (name, the label it shows, description, current) and the page's details of the selected
current snapshot. Exits 1 with the reason when virt-manager fails on the way."""

import json
import os
import sys
import time

sys.path.insert(0, "/usr/share/virt-manager")

import gi  # noqa: E402
gi.require_version("Gdk", "3.0")
gi.require_version("Gtk", "3.0")
gi.require_version("LibvirtGLib", "1.0")
from gi.repository import LibvirtGLib  # noqa: E402
from virtinst import BuildConfig  # noqa: E402
from virtManager.lib.testmock import CLITestOptionsClass  # noqa: E402


def main():
    uri, dom = sys.argv[1], sys.argv[2]
    os.environ["GSETTINGS_SCHEMA_DIR"] = BuildConfig.gsettings_dir
    # virt-manager's start-up, as virtmanager.main() does it (first-run: fresh settings)
    from gi.repository import GLib, Gtk
    Gtk.init()
    from virtManager import config
    config.vmmConfig.get_instance(BuildConfig, CLITestOptionsClass(["first-run"]))
    LibvirtGLib.init(None)
    LibvirtGLib.event_register()
    # the engine's tick thread polls the connection (started by the app's own start-up)
    from virtManager.engine import vmmEngine
    vmmEngine.get_instance()._tick_thread.start()
    from virtManager.connmanager import vmmConnectionManager
    conn = vmmConnectionManager.get_instance().add_conn(uri)
    conn.open()
    ctx = GLib.MainContext.default()
    deadline = time.time() + 30
    vm = None
    while time.time() < deadline:
        ctx.iteration(False)
        if conn.is_active():
            try:
                vm = conn.get_vm_by_name(dom)
            except KeyError:
                vm = None
            if vm:
                break
        time.sleep(0.02)
    if not vm:
        sys.exit(f"virt-manager did not see domain {dom} (connection state {conn._state}, vms {[v.get_name() for v in conn.list_vms()]})")

    from virtManager.vmwindow import vmmVMWindow
    win = vmmVMWindow(vm)
    page = win._snapshots
    # what the window does when the Snapshots button is pressed
    page._populate_snapshot_list()
    model = page.widget("snapshot-list").get_model()
    rows = [{"name": r[0], "label": r[1], "description": r[2], "current": bool(r[5])}
            for r in model if r[0] is not None]
    current = [s for s in vm.list_snapshots() if s.is_current()]
    details = {}
    if current:
        page._set_snapshot_state(current[0])
        details = {
            "title": page.widget("snapshot-title").get_text(),
            "description": page.widget("snapshot-description").get_buffer().props.text,
            "status": page.widget("snapshot-status-text").get_text(),
            "is_current_shown": page.widget("snapshot-is-current").get_visible(),
        }
    supported = vm.snapshots_supported()
    print(json.dumps({"supported": supported is None, "unsupported_reason": supported,
                      "rows": rows, "details": details}))
    sys.stdout.flush()
    os._exit(0)  # virt-manager's threads and main loop: nothing to tear down for this probe


if __name__ == "__main__":
    main()
