"""Server-side apply of a ResourceClaim's status with the official
Kubernetes Python client (Debian's python3-kubernetes), as a DRA driver
written in Python would report device conditions.

Usage: python_apply.py KUBECONFIG NAMESPACE CLAIM
The claim must exist with an allocation of gpu.example.com/node-1/gpu-0.
Prints one "ok: <step>" line per passed step; exits non-zero on the first
failure with the reason.
"""
import sys

import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def ok(step):
    print("ok: " + step, flush=True)


def status_body(name, namespace, cond_status):
    # As YAML text: python3-kubernetes 22.x sends a dict body only for JSON
    # content types, so server_side_apply needs the serialized document.
    return yaml.safe_dump({
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": name, "namespace": namespace},
        "status": {
            "devices": [{
                "driver": "gpu.example.com",
                "pool": "node-1",
                "device": "gpu-0",
                "conditions": [{
                    "type": "Ready",
                    "status": cond_status,
                    "reason": "Probed",
                    "message": "from python",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }],
            }],
        },
    })


def body_text(e):
    return e.body.decode() if isinstance(e.body, bytes) else str(e.body)


def main():
    kubeconfig, namespace, name = sys.argv[1], sys.argv[2], sys.argv[3]
    dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))
    claims = dyn.resources.get(api_version="resource.k8s.io/v1", kind="ResourceClaim")

    # fieldManager is required for an apply patch.
    try:
        dyn.server_side_apply(claims.status, body=status_body(name, namespace, "True"),
                              name=name, namespace=namespace)
        fail("apply without fieldManager was accepted")
    except ApiException as e:
        if e.status != 422 or "fieldManager: Required value" not in body_text(e):
            fail("apply without fieldManager: %s %s" % (e.status, e.body))
    ok("apply without fieldManager -> 422")

    res = dyn.server_side_apply(claims.status, body=status_body(name, namespace, "True"),
                                name=name, namespace=namespace, field_manager="py-driver")
    conds = res.status.devices[0].conditions
    if conds[0].status != "True":
        fail("status not applied: %s" % res.status)
    entries = [(m.manager, m.operation, m.subresource) for m in res.metadata.managedFields]
    if ("py-driver", "Apply", "status") not in entries:
        fail("managedFields: %s" % entries)
    ok("status apply")

    # Another manager changing the condition conflicts, unless it forces.
    try:
        dyn.server_side_apply(claims.status, body=status_body(name, namespace, "False"),
                              name=name, namespace=namespace, field_manager="py-other")
        fail("conflicting apply was accepted")
    except ApiException as e:
        if e.status != 409 or 'conflict with \\"py-driver\\"' not in body_text(e):
            fail("conflict: %s %s" % (e.status, e.body))
    ok("conflict -> 409")
    res = dyn.server_side_apply(claims.status, body=status_body(name, namespace, "False"),
                                name=name, namespace=namespace, field_manager="py-other",
                                force_conflicts=True)
    if res.status.devices[0].conditions[0].status != "False":
        fail("forced apply did not change the condition")
    ok("forced apply")


if __name__ == "__main__":
    main()
