"""cc_grpc_proto: C++ (and optionally gRPC) code from .proto files with Debian's protoc."""

def cc_grpc_proto(name, srcs, deps = [], proto_deps = [], grpc = False, in_sdk = False,
                  visibility = None):
    """Generates C++ sources for `srcs` and wraps them in a cc_library `name`.

    Args:
      name: the cc_library.
      srcs: .proto files in this package.
      deps: cc_grpc_proto targets whose messages these files import.
      proto_deps: the .proto files of those targets (protoc must read them).
      grpc: also run grpc_cpp_plugin (services).
      in_sdk: the generated code is compiled into the SDK's shared library
        (//sdk:libaia-plugin.so, which lists the files) and `name` is an alias of
        //sdk, so that a process holds one copy of these messages.
      visibility: of the library.
    """
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    # The repository's root: "." here, external/NAME when another workspace (a
    # plugin's) builds these files, so that imports and includes stay "proto/...".
    repository = native.repository_name()
    root = "." if repository == "@" else "external/" + repository[1:]
    out = "$(GENDIR)" if repository == "@" else "$(GENDIR)/" + root
    cmd = "/usr/bin/protoc -I%s -I/usr/include --cpp_out=%s" % (root, out)
    if grpc:
        cmd += " --grpc_out=%s --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin" % out
    cmd += " " + " ".join(["$(location %s)" % s for s in srcs])
    native.genrule(
        name = name + "_gen",
        srcs = srcs + proto_deps,
        outs = outs,
        cmd = cmd,
    )
    if in_sdk:
        native.alias(name = name, actual = Label("//sdk"), visibility = visibility)
        return
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        # Labels of aia's repository, also when a plugin's workspace loads this file.
        deps = deps + [Label("//third_party:grpc") if grpc else Label("//third_party:protobuf")],
        visibility = visibility,
    )
