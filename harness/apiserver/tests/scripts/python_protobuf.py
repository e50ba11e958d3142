"""A protobuf client of drahil's API server, independent of its codec: message
classes compiled by protoc from k8s_resource_v1.proto (upstream field
numbers) and Debian's python3-protobuf, over HTTPS with a bearer token.

Usage: python_protobuf.py URL CA_FILE TOKEN WORK_DIR
Prints "SKIP: <reason>" and exits 0 when google.protobuf or protoc is
missing; else one "ok: <step>" line per passed step, and exits non-zero on
the first failure with the reason.
"""
import http.client
import importlib
import os
import shutil
import ssl
import struct
import subprocess
import sys
import urllib.parse

PB = "application/vnd.kubernetes.protobuf"
ACCEPT = PB + ", application/json"
GV = "resource.k8s.io/v1"
MAGIC = b"k8s\x00"


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def ok(step):
    print("ok: " + step, flush=True)


def load_messages(work_dir):
    try:
        import google.protobuf  # noqa: F401
    except ImportError as e:
        print("SKIP: google.protobuf is not importable (python3-protobuf): %s" % e)
        sys.exit(0)
    protoc = shutil.which("protoc") or ("/usr/bin/protoc" if os.path.exists("/usr/bin/protoc")
                                        else None)
    if protoc is None:
        print("SKIP: protoc is not installed (protobuf-compiler)")
        sys.exit(0)
    here = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run([protoc, "-I", here, "--python_out=" + work_dir,
                          os.path.join(here, "k8s_resource_v1.proto")],
                         capture_output=True, text=True)
    if run.returncode != 0:
        fail("protoc: " + run.stderr)
    sys.path.insert(0, work_dir)
    return importlib.import_module("k8s_resource_v1_pb2")


class Client:
    def __init__(self, url, ca, token):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.token = token

    def conn(self):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=20)

    def headers(self, accept, body):
        h = {"Authorization": "Bearer " + self.token, "Accept": accept,
             "User-Agent": "python-protobuf-test/1.0"}
        if body is not None:
            h["Content-Type"] = PB
        return h

    def call(self, method, path, body=None, accept=ACCEPT):
        c = self.conn()
        c.request(method, path, body=body, headers=self.headers(accept, body))
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.getheader("Content-Type", ""), data


def envelope(m, kind, msg):
    u = m.Unknown()
    u.typeMeta.apiVersion = GV
    u.typeMeta.kind = kind
    u.raw = msg.SerializeToString()
    return MAGIC + u.SerializeToString()


def unwrap(m, data, want_kind, cls):
    if not data.startswith(MAGIC):
        fail("answer without the k8s\\0 prefix: %r" % data[:80])
    u = m.Unknown()
    u.ParseFromString(data[4:])
    if u.typeMeta.kind != want_kind:
        if u.typeMeta.kind == "Status":
            s = m.Status()
            s.ParseFromString(u.raw)
            fail("got a Status %d %s: %s" % (s.code, s.reason, s.message))
        fail("kind %r, want %r" % (u.typeMeta.kind, want_kind))
    obj = cls()
    obj.ParseFromString(u.raw)
    return u.typeMeta.apiVersion, obj


def build_slice(m, name):
    s = m.ResourceSlice()
    s.metadata.name = name
    s.metadata.labels["app"] = "gpu"
    s.metadata.annotations["note"] = "protobuf"
    spec = s.spec
    spec.driver = "gpu.example.com"
    spec.nodeName = "node-pb"
    spec.pool.name = "node-pb"
    spec.pool.generation = 1
    spec.pool.resourceSliceCount = 1
    d = spec.devices.add()
    d.name = "gpu-0"
    d.attributes["model"].string = "H200"
    d.attributes["index"].int = 0
    d.attributes["numa"].int = -1
    d.attributes["healthy"].bool = False
    d.attributes["driverVersion"].version = "1.2.3"
    d.capacity["memory"].value.string = "80Gi"
    d.capacity["cores"].value.string = "132"
    t = d.taints.add()
    t.key = "example.com/unhealthy"
    t.value = "true"
    t.effect = "NoSchedule"
    t.timeAdded.seconds = 1735787045  # 2025-01-02T03:04:05Z
    d.bindsToNode = True
    d.bindingConditions.append("Ready")
    d.bindingFailureConditions.append("Failed")
    d2 = spec.devices.add()
    d2.name = "gpu-1"
    d2.attributes["model"].string = "H200"
    d2.capacity["memory"].value.string = "80Gi"
    return s


def main():
    url, ca, token, work_dir = sys.argv[1:5]
    m = load_messages(work_dir)
    c = Client(url, ca, token)
    base = "/apis/resource.k8s.io/v1/resourceslices"

    # Create in protobuf, answer in protobuf.
    sent = build_slice(m, "pb-slice")
    status, ctype, data = c.call("POST", base, envelope(m, "ResourceSlice", sent))
    if status != 201:
        fail("create: %d %s %r" % (status, ctype, data[:300]))
    if ctype != PB:
        fail("create answered %r, want %s" % (ctype, PB))
    gv, created = unwrap(m, data, "ResourceSlice", m.ResourceSlice)
    if gv != GV:
        fail("create answered apiVersion %r" % gv)
    if not created.metadata.uid or not created.metadata.resourceVersion:
        fail("create: no uid/resourceVersion in %s" % created.metadata)
    ok("create ResourceSlice in protobuf")

    # Get it back and compare every field that was sent.
    status, ctype, data = c.call("GET", base + "/pb-slice")
    if status != 200 or ctype != PB:
        fail("get: %d %s" % (status, ctype))
    _, got = unwrap(m, data, "ResourceSlice", m.ResourceSlice)
    if got.spec != sent.spec:
        fail("get: spec differs:\n--- sent\n%s\n--- got\n%s" % (sent.spec, got.spec))
    for f in ("name",):
        if getattr(got.metadata, f) != getattr(sent.metadata, f):
            fail("get: metadata.%s differs" % f)
    if dict(got.metadata.labels) != dict(sent.metadata.labels) or \
            dict(got.metadata.annotations) != dict(sent.metadata.annotations):
        fail("get: labels/annotations differ: %s" % got.metadata)
    if got.metadata.uid != created.metadata.uid:
        fail("get: uid differs")
    if got.metadata.creationTimestamp.seconds <= 0:
        fail("get: no creationTimestamp")
    if not got.metadata.managedFields or \
            got.metadata.managedFields[0].manager != "python-protobuf-test":
        fail("get: managedFields %s" % list(got.metadata.managedFields))
    ok("get ResourceSlice in protobuf, every field as sent")

    # List.
    status, ctype, data = c.call("GET", base + "?labelSelector=app%3Dgpu")
    if status != 200 or ctype != PB:
        fail("list: %d %s" % (status, ctype))
    _, lst = unwrap(m, data, "ResourceSliceList", m.ResourceSliceList)
    names = [i.metadata.name for i in lst.items]
    if names != ["pb-slice"] or lst.items[0].spec != sent.spec:
        fail("list: %s" % names)
    if not lst.metadata.resourceVersion:
        fail("list: no resourceVersion")
    ok("list ResourceSlices in protobuf")

    # Watch in the protobuf stream framing, then change the slice.
    wc = c.conn()
    wc.request("GET", base + "?watch=true&timeoutSeconds=10&resourceVersion=" +
               lst.metadata.resourceVersion,
               headers=c.headers(PB + ";stream=watch, application/json", None))
    wr = wc.getresponse()
    if wr.status != 200:
        fail("watch: %d %r" % (wr.status, wr.read()[:300]))
    wtype = wr.getheader("Content-Type", "")
    if wtype != PB + ";stream=watch":
        fail("watch answered %r" % wtype)
    upd = m.ResourceSlice()
    upd.CopyFrom(got)
    upd.spec.pool.generation = 2
    status, ctype, data = c.call("PUT", base + "/pb-slice", envelope(m, "ResourceSlice", upd))
    if status != 200:
        fail("update: %d %r" % (status, data[:300]))
    _, updated = unwrap(m, data, "ResourceSlice", m.ResourceSlice)
    if updated.spec.pool.generation != 2:
        fail("update: generation %d" % updated.spec.pool.generation)
    header = wr.read(4)
    if len(header) != 4:
        fail("watch: stream ended before an event")
    (n,) = struct.unpack(">I", header)
    frame = wr.read(n)
    ev = m.WatchEvent()
    ev.ParseFromString(frame)
    if ev.type != "MODIFIED":
        fail("watch: event %r" % ev.type)
    _, obj = unwrap(m, ev.object.raw, "ResourceSlice", m.ResourceSlice)
    if obj.spec.pool.generation != 2 or obj.metadata.resourceVersion != \
            updated.metadata.resourceVersion:
        fail("watch: object %s" % obj.metadata)
    wc.close()
    ok("watch MODIFIED in protobuf framing")

    # A ResourceClaim: created in protobuf, its status written through /status.
    claims = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims"
    claim = m.ResourceClaim()
    claim.metadata.name = "pb-claim"
    claim.metadata.namespace = "default"
    req = claim.spec.devices.requests.add()
    req.name = "gpu"
    req.exactly.deviceClassName = "gpu.example.com"
    req.exactly.allocationMode = "ExactCount"
    req.exactly.count = 1
    req.exactly.selectors.add().cel.expression = 'device.driver == "gpu.example.com"'
    status, ctype, data = c.call("POST", claims, envelope(m, "ResourceClaim", claim))
    if status != 201:
        fail("claim create: %d %r" % (status, data[:300]))
    _, stored = unwrap(m, data, "ResourceClaim", m.ResourceClaim)
    if stored.spec != claim.spec:
        fail("claim create: spec differs:\n%s\n%s" % (claim.spec, stored.spec))
    st = stored.status
    res = st.allocation.devices.results.add()
    res.request = "gpu"
    res.driver = "gpu.example.com"
    res.pool = "node-pb"
    res.device = "gpu-0"
    st.allocation.nodeSelector.nodeSelectorTerms.add().matchFields.add(
        key="metadata.name", operator="In", values=["node-pb"])
    ref = st.reservedFor.add()
    ref.resource = "pods"
    ref.name = "pod-1"
    ref.uid = "4f1c9e2a-0000-4000-8000-000000000001"
    dev = st.devices.add()
    dev.driver = "gpu.example.com"
    dev.pool = "node-pb"
    dev.device = "gpu-0"
    cond = dev.conditions.add()
    cond.type = "Ready"
    cond.status = "True"
    cond.reason = "Configured"
    cond.message = "ok"
    cond.lastTransitionTime.seconds = 1735787045
    dev.data.raw = b'{"healthy":true}'
    dev.networkData.interfaceName = "eth1"
    dev.networkData.ips.append("192.0.2.5/24")
    status, ctype, data = c.call("PUT", claims + "/pb-claim/status",
                                 envelope(m, "ResourceClaim", stored))
    if status != 200 or ctype != PB:
        fail("claim status: %d %s %r" % (status, ctype, data[:400]))
    _, after = unwrap(m, data, "ResourceClaim", m.ResourceClaim)
    if after.status != st:
        fail("claim status differs:\n--- sent\n%s\n--- got\n%s" % (st, after.status))
    status, ctype, data = c.call("GET", claims + "/pb-claim")
    _, again = unwrap(m, data, "ResourceClaim", m.ResourceClaim)
    if again.status != st:
        fail("claim get: status differs")
    ok("update ResourceClaim status in protobuf")

    # Errors: a Status in protobuf for a protobuf-only client.
    status, ctype, data = c.call("GET", base + "/missing", accept=PB)
    if status != 404 or ctype != PB:
        fail("missing: %d %s" % (status, ctype))
    _, s = unwrap(m, data, "Status", m.Status)
    if s.code != 404 or s.reason != "NotFound":
        fail("missing: %s" % s)
    ok("404 as a protobuf Status")


if __name__ == "__main__":
    main()
