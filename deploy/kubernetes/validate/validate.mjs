// Validates rendered aia manifests offline: every object against the Kubernetes
// schemas (kubernetes-models), then the properties the deployment relies on.
//
//   node validate.mjs [--secrets] FILE...    (multi-document YAML; "-" is stdin)
//
// All files together are one deployment (e.g. `kubectl kustomize DIR` output and
// make-secrets.sh output). With --secrets, every Secret a pod mounts must be among
// them. Prints one line per problem ("OBJECT: what") and exits 1 if there is any,
// else prints a summary and exits 0; exit 2 for bad usage or unreadable YAML.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
const requireSecrets = args.includes("--secrets");
const files = args.filter((a) => a !== "--secrets");
if (files.length === 0) {
  console.error("usage: node validate.mjs [--secrets] FILE...");
  process.exit(2);
}

const objects = [];
for (const file of files) {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      console.error(`${file}: ${doc.errors[0].message}`);
      process.exit(2);
    }
    const object = doc.toJS();
    if (object != null) objects.push(object);
  }
}

const problems = [];
const nameOf = (o) => `${o.kind}/${o.metadata?.name ?? "?"}`;
const problem = (o, what) => problems.push(`${nameOf(o)}: ${what}`);

// 1. Schemas.
for (const object of objects) {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    problem(object, "no apiVersion or kind");
    continue;
  }
  let model;
  try {
    model = await import(`kubernetes-models/${apiVersion}/${kind}`);
  } catch {
    problem(object, `no schema for ${apiVersion} ${kind}`);
    continue;
  }
  try {
    new model[kind](object).validate();
  } catch (error) {
    problem(object, `schema: ${error.message}`);
  }
}

const all = (kind) => objects.filter((o) => o.kind === kind);
const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
// A label selector's matchLabels (or a Service's plain selector) matches labels.
const matches = (selector, labels) =>
  selector != null &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const flag = (container, name) => {
  const prefix = `--${name}=`;
  const found = (container.args ?? []).concat(container.command ?? []).find((a) => a.startsWith(prefix));
  return found === undefined ? undefined : found.slice(prefix.length);
};
const hostPort = (value) => {
  const match = /^(.*):(\d+)$/.exec(value ?? "");
  return match ? { host: match[1], port: Number(match[2]) } : undefined;
};
// The container port a Service port or probe port (number or name) refers to.
const containerPort = (container, port) =>
  (container.ports ?? []).find((p) => p.containerPort === port || (p.name !== undefined && p.name === port));

const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "Job"].includes(o.kind));
const podOf = (w) => w.spec?.template ?? {};

// 2. Every pod: non-root, hardened containers with resources; volumes that exist.
for (const w of workloads) {
  const pod = podOf(w).spec ?? {};
  const podSecurity = pod.securityContext ?? {};
  if (podSecurity.runAsNonRoot !== true) problem(w, "pod securityContext.runAsNonRoot is not true");
  if (!(podSecurity.runAsUser > 0)) problem(w, "pod securityContext.runAsUser is not a non-root uid");
  if (podSecurity.seccompProfile?.type !== "RuntimeDefault") problem(w, "pod seccompProfile is not RuntimeDefault");
  if (pod.automountServiceAccountToken !== false) problem(w, "automountServiceAccountToken is not false");
  for (const c of (pod.initContainers ?? []).concat(pod.containers ?? [])) {
    const where = `container ${c.name}`;
    const s = c.securityContext ?? {};
    if (s.readOnlyRootFilesystem !== true) problem(w, `${where}: readOnlyRootFilesystem is not true`);
    if (s.allowPrivilegeEscalation !== false) problem(w, `${where}: allowPrivilegeEscalation is not false`);
    if (!(s.capabilities?.drop ?? []).includes("ALL")) problem(w, `${where}: capabilities do not drop ALL`);
    if (s.privileged === true || s.runAsUser === 0) problem(w, `${where}: privileged or root`);
    for (const kind of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        if (c.resources?.[kind]?.[resource] === undefined) problem(w, `${where}: no resources.${kind}.${resource}`);
      }
    }
    if (!c.image) problem(w, `${where}: no image`);
  }
  for (const v of pod.volumes ?? []) {
    if (v.secret && requireSecrets && !find("Secret", v.secret.secretName)) {
      problem(w, `volume ${v.name}: no Secret ${v.secret.secretName}`);
    }
    if (v.configMap && !find("ConfigMap", v.configMap.name)) problem(w, `volume ${v.name}: no ConfigMap ${v.configMap.name}`);
    if (v.persistentVolumeClaim && !find("PersistentVolumeClaim", v.persistentVolumeClaim.claimName)) {
      problem(w, `volume ${v.name}: no PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}`);
    }
  }
  if (w.kind !== "Job" && !matches(w.spec?.selector?.matchLabels, podOf(w).metadata?.labels)) {
    problem(w, "selector does not match its pod template's labels");
  }
}

// 3. Long-running containers: readiness and liveness probes on declared ports.
for (const w of workloads.filter((o) => o.kind !== "Job")) {
  for (const c of podOf(w).spec?.containers ?? []) {
    for (const kind of ["readinessProbe", "livenessProbe"]) {
      const probe = c[kind];
      if (!probe) {
        problem(w, `container ${c.name}: no ${kind}`);
        continue;
      }
      const handlers = ["grpc", "httpGet", "tcpSocket", "exec"].filter((h) => probe[h] !== undefined);
      if (handlers.length !== 1) {
        problem(w, `container ${c.name}: ${kind} has ${handlers.length} handlers`);
        continue;
      }
      const port = probe[handlers[0]].port;
      if (port !== undefined && !containerPort(c, port)) {
        problem(w, `container ${c.name}: ${kind} port ${port} is not a container port`);
      }
      // An exec probe `aia health HOST:PORT --service=NAME` checks grpc.health.v1
      // over TLS: its port must be the container's, NAME its role's service.
      const command = probe.exec?.command ?? [];
      if (command[1] === "health") {
        const address = hostPort(command[2]);
        const service = command.find((a) => a.startsWith("--service="))?.slice("--service=".length);
        const role = podOf(w).metadata?.labels?.["app.kubernetes.io/component"];
        const expected = { worker: "aia.v1.Worker", coordinator: "aia.v1.Coordinator" }[role];
        if (!address || !containerPort(c, address.port)) {
          problem(w, `container ${c.name}: ${kind} checks ${command[2]}, not a container port`);
        } else if (address.port !== hostPort(flag(c, "listen"))?.port) {
          problem(w, `container ${c.name}: ${kind} checks port ${address.port}, not the --listen port`);
        }
        if (expected !== undefined && service !== expected) {
          problem(w, `container ${c.name}: ${kind} checks service ${service}, not ${expected}`);
        }
      }
      // A native gRPC probe is on the --health_listen port (plaintext,
      // grpc.health.v1 only); readiness asks for its role's service, liveness for
      // "" (which stays SERVING through a drain).
      if (handlers[0] === "grpc") {
        const role = podOf(w).metadata?.labels?.["app.kubernetes.io/component"];
        const expected = kind === "livenessProbe"
          ? ""
          : { worker: "aia.v1.Worker", coordinator: "aia.v1.Coordinator" }[role];
        const service = probe.grpc.service ?? "";
        if (expected !== undefined && service !== expected) {
          problem(w, `container ${c.name}: ${kind} checks service ${service || '""'}, not ${expected || '""'}`);
        }
        if (probe.grpc.port !== hostPort(flag(c, "health_listen"))?.port) {
          problem(w, `container ${c.name}: ${kind} checks port ${probe.grpc.port}, not the --health_listen port`);
        }
      }
    }
  }
}

// The roles, by component label and command.
const component = (w) => podOf(w).metadata?.labels?.["app.kubernetes.io/component"];
const workers = workloads.find((w) => component(w) === "worker");
const coordinator = workloads.find((w) => component(w) === "coordinator");
const submit = workloads.find((w) => w.kind === "Job");
const mainContainer = (w) => podOf(w).spec?.containers?.[0] ?? {};
const missing = { kind: "deployment", metadata: { name: "" } };
if (!workers) problem(missing, "no worker workload (app.kubernetes.io/component: worker)");
if (!coordinator) problem(missing, "no coordinator workload (app.kubernetes.io/component: coordinator)");
if (!submit) problem(missing, "no Job that submits a run");

// The coordinator's Service: it selects the coordinator's pods and its port targets
// the port of --listen.
const coordinatorServices = all("Service").filter(
  (s) => s.spec?.clusterIP !== "None" && matches(s.spec?.selector, podOf(coordinator ?? {}).metadata?.labels),
);
// Does HOST:PORT (a client's --server or a worker's --join) reach the coordinator?
const reachesCoordinator = (value, namespace) => {
  const address = hostPort(value);
  if (!address || !coordinator) return false;
  const c = mainContainer(coordinator);
  const listen = hostPort(flag(c, "listen"));
  return coordinatorServices.some((s) => {
    const ns = s.metadata?.namespace ?? "default";
    const names = [s.metadata.name, `${s.metadata.name}.${ns}`, `${s.metadata.name}.${ns}.svc`,
      `${s.metadata.name}.${ns}.svc.cluster.local`];
    if (!names.includes(address.host) || (ns !== namespace && address.host === s.metadata.name)) return false;
    const port = (s.spec.ports ?? []).find((p) => p.port === address.port);
    const target = port && containerPort(c, port.targetPort ?? port.port);
    return target !== undefined && listen !== undefined && target.containerPort === listen.port;
  });
};

if (workers && coordinator) {
  const worker = mainContainer(workers);
  const coord = mainContainer(coordinator);
  const workerLabels = podOf(workers).metadata?.labels;
  const coordinatorLabels = podOf(coordinator).metadata?.labels;
  const namespace = workers.metadata?.namespace ?? "default";
  const workerListen = hostPort(flag(worker, "listen"));
  const dialled = workerListen !== undefined;

  // 4. The coordinator finds dialled workers through the headless Service.
  const workersFlag = flag(coord, "workers");
  if (dialled) {
    const match = /^dns:\/\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$/.exec(workersFlag ?? "");
    if (!match) {
      problem(coordinator, `--workers=${workersFlag} is not dns:///SERVICE.NAMESPACE.svc.cluster.local:PORT`);
    } else {
      const [, name, ns, port] = match;
      const service = find("Service", name);
      if (!service || (service.metadata?.namespace ?? "default") !== ns) {
        problem(coordinator, `--workers names Service ${name} in namespace ${ns}, which is not there`);
      } else {
        if (service.spec?.clusterIP !== "None") problem(service, "is not headless (clusterIP: None)");
        if (!matches(service.spec?.selector, workerLabels)) problem(service, "does not select the worker pods");
        // A headless Service's DNS names the pods' addresses: the port must be the
        // workers' listening container port itself.
        const target = containerPort(worker, Number(port));
        if (!target || target.containerPort !== workerListen.port) {
          problem(coordinator, `--workers port ${port} is not the workers' --listen container port ${workerListen.port}`);
        }
        if (!(service.spec?.ports ?? []).some((p) => p.port === Number(port))) {
          problem(service, `has no port ${port}`);
        }
      }
      if (workers.kind === "StatefulSet" && workers.spec?.serviceName !== name) {
        problem(workers, `serviceName ${workers.spec?.serviceName} is not ${name}`);
      }
    }
  } else {
    if (workersFlag !== undefined) problem(coordinator, `--workers=${workersFlag} but the workers do not --listen`);
    if (!reachesCoordinator(flag(worker, "join"), namespace)) {
      problem(workers, `--join=${flag(worker, "join")} does not reach the coordinator's Service and --listen port`);
    }
  }

  // 5. NetworkPolicy: only the coordinator's pods reach the workers' gRPC port.
  const policies = all("NetworkPolicy").filter((p) => matches(p.spec?.podSelector?.matchLabels, workerLabels));
  if (policies.length === 0) problem(workers, "no NetworkPolicy selects the worker pods");
  const grpcPort = dialled ? workerListen.port : undefined;
  const grpcName = dialled ? containerPort(worker, grpcPort)?.name : undefined;
  let coordinatorAllowed = false;
  for (const policy of policies) {
    if (!(policy.spec?.policyTypes ?? []).includes("Ingress")) problem(policy, "policyTypes has no Ingress");
    for (const [i, rule] of (policy.spec?.ingress ?? []).entries()) {
      const ports = rule.ports ?? [];
      const coversGrpc = ports.length === 0 || ports.some((p) => p.port === undefined || p.port === grpcPort ||
        (grpcName !== undefined && p.port === grpcName));
      const peers = rule.from ?? [];
      if (peers.length === 0) {
        problem(policy, `ingress rule ${i} admits every source`);
        continue;
      }
      for (const peer of peers) {
        const onlyCoordinator = peer.podSelector !== undefined && peer.namespaceSelector === undefined &&
          peer.ipBlock === undefined && matches(peer.podSelector.matchLabels, coordinatorLabels) &&
          !matches(peer.podSelector.matchLabels, workerLabels) && peer.podSelector.matchExpressions === undefined;
        if (coversGrpc && !onlyCoordinator) {
          problem(policy, `ingress rule ${i} admits more than the coordinator's pods to the workers' ${dialled ? "gRPC port" : "ports"}`);
        }
        if (coversGrpc && onlyCoordinator) coordinatorAllowed = true;
      }
    }
  }
  if (dialled && !coordinatorAllowed) problem(workers, "no NetworkPolicy rule admits the coordinator to the gRPC port");

  // 6. The Job submits to the coordinator's Service, with no more slots than workers.
  if (submit) {
    const client = mainContainer(submit);
    const server = flag(client, "server");
    if (!reachesCoordinator(server, submit.metadata?.namespace ?? "default")) {
      problem(submit, `--server=${server} does not reach the coordinator's Service and --listen port`);
    }
    const slots = Number(flag(client, "workers"));
    const replicas = workers.spec?.replicas ?? 1;
    if (!(slots >= 1 && slots <= replicas)) problem(submit, `--workers=${flag(client, "workers")} is not 1..${replicas} (the worker replicas)`);
    const args = client.args ?? [];
    if (args[0] !== "submit" || !args.includes("--watch")) problem(submit, "does not run `aia submit ... --watch`");
    // The config file is a key of a mounted ConfigMap.
    const config = args[1] ?? "";
    const mounted = (client.volumeMounts ?? []).some((m) => {
      const volume = (podOf(submit).spec?.volumes ?? []).find((v) => v.name === m.name);
      const map = volume?.configMap && find("ConfigMap", volume.configMap.name);
      return map && config.startsWith(`${m.mountPath}/`) && map.data?.[config.slice(m.mountPath.length + 1)] !== undefined;
    });
    if (!mounted) problem(submit, `config ${config} is not a key of a mounted ConfigMap`);
  }

  // 7. A PodDisruptionBudget covers the workers.
  if (!all("PodDisruptionBudget").some((p) => matches(p.spec?.selector?.matchLabels, workerLabels))) {
    problem(workers, "no PodDisruptionBudget selects the worker pods");
  }
}

for (const line of problems) console.log(line);
if (problems.length > 0) process.exit(1);
console.log(`ok: ${objects.length} objects valid (${[...new Set(objects.map((o) => o.kind))].join(", ")})`);
