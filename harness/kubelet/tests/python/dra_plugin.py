"""A minimal DRA plugin in Python, for the kubelet stand-in's interop test.

It uses Debian's python3-grpcio (an implementation independent of the C++
gRPC the stand-in uses) with stubs generated at test time from drahil's
.proto files. It serves registration on <registry>/<driver>-reg.sock and DRA
v1, v1beta1 and health v1alpha1 on <plugins>/<driver>/dra.sock, DRA socket
first, as the Go helper does. Registration statuses are appended to
--events. SIGTERM stops both servers and removes the sockets.
"""

import argparse
import os
import signal
import sys
import threading
import time
from concurrent import futures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--registry", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--events", required=True)
    args = ap.parse_args()

    sys.path.insert(0, args.stubs)
    import grpc
    import dra_v1_pb2
    import dra_v1_pb2_grpc
    import dra_v1beta1_pb2
    import dra_v1beta1_pb2_grpc
    import dra_health_v1alpha1_pb2 as health_pb2
    import dra_health_v1alpha1_pb2_grpc as health_grpc
    import pluginregistration_v1_pb2 as reg_pb2
    import pluginregistration_v1_pb2_grpc as reg_grpc

    stop = threading.Event()
    events_lock = threading.Lock()

    def event(line):
        with events_lock:
            with open(args.events, "a") as f:
                f.write(line + "\n")

    data_dir = os.path.join(args.plugins, args.driver)
    os.makedirs(data_dir, exist_ok=True)
    dra_sock = os.path.join(data_dir, "dra.sock")
    reg_sock = os.path.join(args.registry, args.driver + "-reg.sock")

    def make_dra(pb2, with_share):
        class Dra:
            def NodePrepareResources(self, request, context):
                resp = pb2.NodePrepareResourcesResponse()
                for c in request.claims:
                    entry = resp.claims[c.uid]
                    if c.name.startswith("bad"):
                        entry.error = "python plugin refuses " + c.name
                        continue
                    dev = entry.devices.add()
                    dev.request_names.append("gpu")
                    dev.pool_name = "py-pool"
                    dev.device_name = "py-" + c.name
                    dev.cdi_device_ids.append("python.example/gpu=" + c.uid)
                    if with_share:
                        dev.share_id = "share-" + c.uid
                event("prepare " + ",".join(c.uid for c in request.claims))
                return resp

            def NodeUnprepareResources(self, request, context):
                resp = pb2.NodeUnprepareResourcesResponse()
                for c in request.claims:
                    resp.claims[c.uid].error = ""
                event("unprepare " + ",".join(c.uid for c in request.claims))
                return resp

        return Dra()

    class Health(health_grpc.DRAResourceHealthServicer):
        def NodeWatchResources(self, request, context):
            while not stop.is_set() and context.is_active():
                resp = health_pb2.NodeWatchResourcesResponse()
                d = resp.devices.add()
                d.device.pool_name = "py-pool"
                d.device.device_name = "py-claim-1"
                d.health = health_pb2.HEALTHY
                d.last_updated_time = int(time.time())
                d.health_check_timeout_seconds = 10
                d.message = "python says fine"
                yield resp
                stop.wait(0.2)

    class Registration(reg_grpc.RegistrationServicer):
        def GetInfo(self, request, context):
            return reg_pb2.PluginInfo(
                type="DRAPlugin",
                name=args.driver,
                endpoint=dra_sock,
                supported_versions=["v1.DRAPlugin", "v1beta1.DRAPlugin",
                                    "v1alpha1.DRAResourceHealth"])

        def NotifyRegistrationStatus(self, request, context):
            event("notify %s %s" % (request.plugin_registered, request.error))
            return reg_pb2.RegistrationStatusResponse()

    for path in (dra_sock, reg_sock):
        if os.path.exists(path):
            os.unlink(path)

    dra_server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    dra_v1_pb2_grpc.add_DRAPluginServicer_to_server(make_dra(dra_v1_pb2, True), dra_server)
    dra_v1beta1_pb2_grpc.add_DRAPluginServicer_to_server(
        make_dra(dra_v1beta1_pb2, False), dra_server)
    health_grpc.add_DRAResourceHealthServicer_to_server(Health(), dra_server)
    dra_server.add_insecure_port("unix:" + dra_sock)
    dra_server.start()

    reg_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    reg_grpc.add_RegistrationServicer_to_server(Registration(), reg_server)
    reg_server.add_insecure_port("unix:" + reg_sock)
    reg_server.start()
    event("started")

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.1):
        pass
    event("stopping")
    for path in (reg_sock, dra_sock):
        if os.path.exists(path):
            os.unlink(path)
    reg_server.stop(1).wait()
    event("registration server stopped")
    dra_server.stop(1).wait()
    event("stopped")


if __name__ == "__main__":
    main()
