"""Drives drahil's API server with the official Kubernetes Python client
(Debian's python3-kubernetes), as a driver written in Python would.

Usage: python_client.py KUBECONFIG
Prints one "ok: <step>" line per passed step; exits non-zero on the first
failure with the reason.
"""
import sys
import threading

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "resource.k8s.io", "v1", "resourceslices"


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def ok(step):
    print("ok: " + step, flush=True)


def slice_body(node, driver="py.example.com", generate=None, name=None):
    meta = {"generateName": generate} if generate else {"name": name}
    return {
        "apiVersion": GROUP + "/" + VERSION,
        "kind": "ResourceSlice",
        "metadata": meta,
        "spec": {
            "driver": driver,
            "nodeName": node,
            "pool": {"name": node, "generation": 1, "resourceSliceCount": 1},
            "devices": [{"name": "dev-0"}],
        },
    }


def main():
    config.load_kube_config(config_file=sys.argv[1])
    api = client.CustomObjectsApi()
    core = client.CoreV1Api()

    # Typed core API: the default namespace exists.
    names = [ns.metadata.name for ns in core.list_namespace().items]
    if "default" not in names:
        fail("namespaces: default missing from %s" % names)
    ok("list namespaces")

    # List + watch: start a watch from the list's resourceVersion and see a create.
    listed = api.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    rv = listed["metadata"]["resourceVersion"]
    seen = []
    w = watch.Watch()

    def watch_thread():
        for ev in w.stream(api.list_cluster_custom_object, GROUP, VERSION, PLURAL,
                           resource_version=rv, timeout_seconds=10):
            seen.append((ev["type"], ev["object"]["metadata"]["name"]))
            if ev["type"] == "ADDED":
                w.stop()
                return

    t = threading.Thread(target=watch_thread)
    t.start()

    # Create with generateName.
    created = api.create_cluster_custom_object(GROUP, VERSION, PLURAL,
                                               slice_body("node-py", generate="py-node-"))
    name = created["metadata"]["name"]
    if not name.startswith("py-node-") or len(name) != len("py-node-") + 5:
        fail("generateName: got %r" % name)
    if not created["metadata"].get("uid"):
        fail("no uid on created object")
    ok("create with generateName " + name)

    t.join(15)
    if t.is_alive() or ("ADDED", name) not in seen:
        fail("watch did not deliver ADDED %s (saw %s)" % (name, seen))
    ok("list+watch saw ADDED")

    # Update with a fresh resourceVersion succeeds, a stale one gets 409.
    stale = dict(created)
    fresh = api.get_cluster_custom_object(GROUP, VERSION, PLURAL, name)
    fresh["spec"]["pool"]["generation"] = 2
    updated = api.replace_cluster_custom_object(GROUP, VERSION, PLURAL, name, fresh)
    if updated["metadata"]["generation"] != 2:
        fail("generation not bumped: %s" % updated["metadata"])
    stale["spec"]["pool"]["generation"] = 3
    try:
        api.replace_cluster_custom_object(GROUP, VERSION, PLURAL, name, stale)
        fail("stale update was accepted")
    except ApiException as e:
        if e.status != 409:
            fail("stale update: want 409, got %s %s" % (e.status, e.body))
    ok("stale update -> 409 Conflict")

    # Field-selector list.
    api.create_cluster_custom_object(GROUP, VERSION, PLURAL,
                                     slice_body("node-other", name="py-other"))
    only = api.list_cluster_custom_object(GROUP, VERSION, PLURAL,
                                          field_selector="spec.nodeName=node-py")
    got = [i["metadata"]["name"] for i in only["items"]]
    if got != [name]:
        fail("field selector: want [%s], got %s" % (name, got))
    ok("field selector list")

    # Delete, then the object is gone (404).
    api.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
    try:
        api.get_cluster_custom_object(GROUP, VERSION, PLURAL, name)
        fail("deleted object still readable")
    except ApiException as e:
        if e.status != 404:
            fail("get after delete: want 404, got %s" % e.status)
    ok("delete")


if __name__ == "__main__":
    main()
