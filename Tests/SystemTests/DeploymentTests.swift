import Foundation
import TestSupport
import Testing
import Yams

// Static checks of the container deployment: docker-compose.yml, deploy/Dockerfile,
// .dockerignore and the files in deploy/config. Nothing is built or run (no Docker engine
// is needed); the files are read and compared with Package.swift and with the ATTACHE_*
// variables the services' sources read, so that drift on either side fails here first.

@Suite("Deployment: docker-compose.yml, deploy/Dockerfile, .dockerignore")
struct DeploymentTests {
    @Test("Package.swift declares the six services and the operator tool")
    func packageProducts() throws {
        let services = try serviceNames()
        #expect(
            services.count == 6,
            "expected six service products in Package.swift (executables other than attache-ops, bench-* and chaos), found \(services); if Package.swift's `.executable(name:` lines changed shape, fix the parsing here, and if a service was added or removed, update docker-compose.yml, deploy/Dockerfile and this count"
        )
        #expect(try shippedPrograms().contains("attache-ops"), "Package.swift has no attache-ops executable product")
    }

    @Test("the compose file is read with its anchors and merge keys applied")
    func mergeKeysAreApplied() throws {
        let compose = try loadCompose()
        let unmerged = unmergedKeys(in: compose, at: "")
        #expect(
            unmerged.isEmpty,
            "the YAML loader left `<<` merge keys unapplied at \(unmerged); every check here would look at the wrong mapping")
        // The shared blocks really reach the services: each has the common environment.
        let services = try serviceDefinitions(in: compose)
        for name in try serviceNames() {
            guard let service = services[name] else { continue }  // reported by composeServices
            let written = try environment(of: service, named: name)
            #expect(
                written["ATTACHE_AMQP_URL"] != nil,
                "services.\(name).environment has no ATTACHE_AMQP_URL: does it merge the common environment (`<<: *common-environment`)? A service's own `environment:` replaces a merged one instead of adding to it"
            )
        }
    }

    @Test("compose runs rabbitmq, postgres and exactly the six services")
    func composeServices() throws {
        let compose = try loadCompose()
        let services = try serviceDefinitions(in: compose)
        let expected = Set(try serviceNames())
        let actual = Set(services.keys).subtracting(infrastructure)
        for name in infrastructure {
            #expect(services[name] != nil, "\(composePath) has no `\(name)` service")
        }
        #expect(
            actual.subtracting(expected).isEmpty,
            "\(composePath) runs services that are not service products in Package.swift: \(actual.subtracting(expected).sorted())"
        )
        #expect(
            expected.subtracting(actual).isEmpty,
            "\(composePath) is missing services for these Package.swift products: \(expected.subtracting(actual).sorted())")
    }

    @Test("rabbitmq and postgres are official images with health checks and named volumes")
    func infrastructureServices() throws {
        let compose = try loadCompose()
        let services = try serviceDefinitions(in: compose)
        let namedVolumes = Set((compose["volumes"] as? Mapping)?.keys.map { $0 } ?? [])

        let rabbitmq = try #require(services["rabbitmq"], "\(composePath) has no rabbitmq service")
        let rabbitImage = scalar(rabbitmq["image"]) ?? ""
        #expect(
            rabbitImage.hasPrefix("rabbitmq:3.13"), "rabbitmq should use an official rabbitmq:3.13 image, not '\(rabbitImage)'")
        let rabbitCheck = "\(rabbitmq["healthcheck"].flatMap { ($0 as? Mapping)?["test"] } ?? "")"
        #expect(
            rabbitCheck.contains("rabbitmq-diagnostics"),
            "rabbitmq needs a healthcheck using rabbitmq-diagnostics, has: \(rabbitCheck)")

        let postgres = try #require(services["postgres"], "\(composePath) has no postgres service")
        let postgresImage = scalar(postgres["image"]) ?? ""
        #expect(postgresImage.hasPrefix("postgres:15"), "postgres should use postgres:15, not '\(postgresImage)'")
        let postgresCheck = "\(postgres["healthcheck"].flatMap { ($0 as? Mapping)?["test"] } ?? "")"
        #expect(postgresCheck.contains("pg_isready"), "postgres needs a healthcheck using pg_isready, has: \(postgresCheck)")
        let postgresEnvironment = try environment(of: postgres, named: "postgres")
        #expect(postgresEnvironment["POSTGRES_DB"] == "attache", "postgres should set POSTGRES_DB=attache")
        let password = (postgresEnvironment["POSTGRES_PASSWORD"] ?? nil) ?? ""
        #expect(
            password.contains("${POSTGRES_PASSWORD"),
            "POSTGRES_PASSWORD must come from the environment (`${POSTGRES_PASSWORD:-attache}`), never be written into the file")
        let volumeSources = (postgres["volumes"] as? [Any] ?? []).compactMap { entry -> String? in
            if let text = entry as? String { return text.split(separator: ":").first.map(String.init) }
            return scalar((entry as? Mapping)?["source"])
        }
        #expect(
            volumeSources.contains(where: namedVolumes.contains),
            "postgres should keep its data in a named volume declared under top-level `volumes:` (has \(volumeSources), declared \(namedVolumes.sorted()))"
        )
    }

    @Test("all six services run one image, built from deploy/Dockerfile by one build definition")
    func oneImageOneBuild() throws {
        let services = try serviceDefinitions(in: try loadCompose())
        let names = try serviceNames().filter { services[$0] != nil }  // missing ones: see composeServices
        let images = Set(names.map { scalar(services[$0]?["image"]) ?? "<none>" })
        #expect(
            images.count == 1 && !images.contains("<none>"), "every service must use the same `image:`, found \(images.sorted())")

        for name in infrastructure {
            #expect(services[name]?["build"] == nil, "\(name) must use its official image, not a `build:`")
        }
        let builders = names.filter { services[$0]?["build"] != nil }
        let buildDescriptions = Set(builders.map { canonical(services[$0]?["build"]) })
        #expect(
            builders.count == 1 || (builders.count == names.count && buildDescriptions.count == 1),
            "exactly one service (or one anchor shared by all six) must carry the `build:` for the shared image; found it on \(builders)"
        )
        for name in builders {
            guard let build = services[name]?["build"] as? Mapping else {
                Issue.record("services.\(name).build must be a mapping with `context: .` and `dockerfile: \(dockerfilePath)`")
                continue
            }
            let context = scalar(build["context"]) ?? ""
            #expect(
                context == "." || context == "./",
                "services.\(name).build.context must be `.` (the repository root), not '\(context)'")
            let dockerfile = scalar(build["dockerfile"]) ?? "Dockerfile"
            #expect(
                dockerfile == dockerfilePath || dockerfile == "./\(dockerfilePath)",
                "services.\(name).build.dockerfile must be \(dockerfilePath), not '\(dockerfile)'")
        }
        #expect(fileExists(dockerfilePath), "\(dockerfilePath) does not exist")
    }

    @Test("each service runs its program, waits for healthy infrastructure and can be scaled")
    func serviceWiring() throws {
        let services = try serviceDefinitions(in: try loadCompose())
        let image = try imageEnvironment()
        for name in try serviceNames() {
            guard let service = services[name] else { continue }  // reported by composeServices

            let entrypoint: [String] =
                (service["entrypoint"] as? [Any])?.compactMap(scalar) ?? scalar(service["entrypoint"]).map(shellWords) ?? []
            #expect(
                entrypoint == ["/usr/local/bin/\(name)"],
                "services.\(name).entrypoint must be [\"/usr/local/bin/\(name)\"], is \(entrypoint)")

            let healthcheck = service["healthcheck"] as? Mapping
            let healthTest = "\(healthcheck?["test"] ?? "")"
            #expect(
                healthTest.contains("/readyz") && healthcheck?["disable"] as? Bool != true,
                "services.\(name).healthcheck.test must probe /readyz, is: \(healthTest)")

            let dependencies = service["depends_on"] as? Mapping ?? [:]
            for dependency in infrastructure {
                let condition = scalar((dependencies[dependency] as? Mapping)?["condition"])
                #expect(
                    condition == "service_healthy",
                    "services.\(name).depends_on.\(dependency) must have `condition: service_healthy` (a list form or another condition lets it start before \(dependency) is ready)"
                )
            }

            #expect(
                service["container_name"] == nil,
                "services.\(name) must not set container_name: it prevents `docker compose up --scale \(name)=3`")

            let effective = try effectiveEnvironment(service, named: name, image: image)
            let httpPort = effective["ATTACHE_HTTP_PORT"] ?? "unset (each service has its own default)"
            for entry in service["ports"] as? [Any] ?? [] {
                if let long = entry as? Mapping {
                    let published = scalar(long["published"]) ?? ""
                    #expect(
                        published.isEmpty,
                        "services.\(name).ports publishes a fixed host port \(published): \(name) cannot be scaled; publish the container port alone"
                    )
                    #expect(
                        scalar(long["target"]) == httpPort,
                        "services.\(name).ports targets \(long["target"] ?? "nothing"), but the service listens on \(httpPort)")
                } else if let short = scalar(entry) {
                    // [host_ip:][host_port:]container_port[/protocol]; a host side with a port is fixed.
                    let fields = short.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    let hostPort = fields.count >= 2 ? fields[fields.count - 2] : ""
                    #expect(
                        hostPort.isEmpty,
                        "services.\(name).ports entry '\(short)' binds fixed host port \(hostPort): \(name) cannot be scaled; write just the container port (\"\(httpPort)\") and put a proxy or an override file in front"
                    )
                    let containerPort = fields.last.map { String($0.split(separator: "/").first ?? "") } ?? ""
                    #expect(
                        containerPort == httpPort,
                        "services.\(name).ports entry '\(short)' targets \(containerPort), but the service listens on ATTACHE_HTTP_PORT=\(httpPort)"
                    )
                }
            }

            #expect(scalar(service["restart"]) == "unless-stopped", "services.\(name).restart should be unless-stopped")

            let shutdown = Double(effective["ATTACHE_SHUTDOWN_TIMEOUT_SECONDS"] ?? "25") ?? 25
            let grace = scalar(service["stop_grace_period"]).flatMap(seconds(inDuration:)) ?? 10
            #expect(
                grace > shutdown,
                "services.\(name).stop_grace_period (\(grace) s) must exceed ATTACHE_SHUTDOWN_TIMEOUT_SECONDS (\(shutdown) s), or Docker kills the service mid-shutdown"
            )

            for volume in service["volumes"] as? [Any] ?? [] {
                guard let text = scalar(volume) else { continue }
                let parts = text.split(separator: ":").map(String.init)
                guard parts.count >= 2, parts[1] == imageConfigDirectory || parts[1] == imageConfigDirectory + "/" else {
                    continue
                }
                let source = parts[0].hasPrefix("./") ? String(parts[0].dropFirst(2)) : parts[0]
                #expect(
                    source == configDirectory || source == configDirectory + "/",
                    "services.\(name) mounts '\(parts[0])' over \(imageConfigDirectory); paths there must correspond to ./\(configDirectory)"
                )
            }
        }
    }

    @Test("each service is given only variables its code reads, and every variable it requires")
    func serviceEnvironment() throws {
        let services = try serviceDefinitions(in: try loadCompose())
        let image = try imageEnvironment()
        let rabbitmq = try environment(of: services["rabbitmq"] ?? [:], named: "rabbitmq")
        let postgres = try environment(of: services["postgres"] ?? [:], named: "postgres")

        for name in try serviceNames() {
            guard let service = services[name] else { continue }  // reported by composeServices
            let usage = try variableUsage(ofService: name)
            let written = try environment(of: service, named: name)

            let unknown = written.keys.filter { $0.hasPrefix("ATTACHE_") && !usage.read.contains($0) }.sorted()
            #expect(
                unknown.isEmpty,
                "services.\(name).environment sets \(unknown), which no Swift file under Services/\(name) or Shared/Runtime reads (a typo, or a setting the code dropped)"
            )

            let effective = try effectiveEnvironment(service, named: name, image: image)
            let missing = usage.required.filter { effective[$0] == nil }.sorted()
            #expect(
                missing.isEmpty,
                "\(name) requires \(missing) (requiredString in its sources), but neither services.\(name).environment nor the image's ENV gives it a non-empty value: it would exit with status 78"
            )

            #expect(
                effective["ATTACHE_HTTP_HOST"] == "0.0.0.0",
                "\(name): ATTACHE_HTTP_HOST must be 0.0.0.0 (in compose or the Dockerfile's ENV), is \(effective["ATTACHE_HTTP_HOST"] ?? "unset (127.0.0.1, unreachable from outside the container)")"
            )

            // The broker URL names the compose service, with the user rabbitmq creates.
            if let amqp = effective["ATTACHE_AMQP_URL"], let components = URLComponents(string: amqp) {
                #expect(components.scheme == "amqp", "\(name): ATTACHE_AMQP_URL must be an amqp:// URL, is \(amqp)")
                #expect(
                    components.host == "rabbitmq",
                    "\(name): ATTACHE_AMQP_URL must name host `rabbitmq` (the compose service), names \(components.host ?? "none")"
                )
                let brokerUser = (rabbitmq["RABBITMQ_DEFAULT_USER"] ?? nil).map(interpolate) ?? "guest"
                let brokerPassword = (rabbitmq["RABBITMQ_DEFAULT_PASS"] ?? nil).map(interpolate) ?? "guest"
                #expect(
                    components.user == brokerUser && components.password == brokerPassword,
                    "\(name): ATTACHE_AMQP_URL's credentials must be rabbitmq's RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS (\(brokerUser)); the default guest user may not log in over the network"
                )
            } else {
                Issue.record("\(name): ATTACHE_AMQP_URL is not set to a URL (the default 127.0.0.1 is the container itself)")
            }

            // The database URL names the compose service, user and database.
            if let database = effective["ATTACHE_DATABASE_URL"], let components = URLComponents(string: database) {
                #expect(
                    ["postgres", "postgresql"].contains(components.scheme ?? ""),
                    "\(name): ATTACHE_DATABASE_URL must be a postgresql:// URL, is \(database)")
                #expect(
                    components.host == "postgres",
                    "\(name): ATTACHE_DATABASE_URL must name host `postgres` (the compose service), names \(components.host ?? "none")"
                )
                let user = (postgres["POSTGRES_USER"] ?? nil).map(interpolate) ?? "postgres"
                let password = (postgres["POSTGRES_PASSWORD"] ?? nil).map(interpolate) ?? ""
                let databaseName = (postgres["POSTGRES_DB"] ?? nil).map(interpolate) ?? user
                #expect(
                    components.user == user && components.password == password,
                    "\(name): ATTACHE_DATABASE_URL's credentials must be postgres's POSTGRES_USER/POSTGRES_PASSWORD (\(user))")
                #expect(
                    components.path == "/\(databaseName)",
                    "\(name): ATTACHE_DATABASE_URL must name database /\(databaseName) (POSTGRES_DB), names \(components.path)")
            } else {
                Issue.record("\(name): ATTACHE_DATABASE_URL is not set to a URL (the default 127.0.0.1 is the container itself)")
            }

            // Files the service is pointed at exist in deploy/config, which the image
            // copies (and compose mounts) at /etc/attache.
            // (The image's own ENV is checked once, in imageEnvironmentIsRead.)
            for (key, value) in written.compactMapValues({ $0.map(interpolate) })
            where key.hasPrefix("ATTACHE_") && value.hasPrefix(imageConfigDirectory + "/") {
                let relative = configDirectory + "/" + value.dropFirst(imageConfigDirectory.count + 1)
                #expect(
                    pathExists(relative),
                    "\(name): \(key)=\(value) points into \(imageConfigDirectory), which is \(configDirectory) in the repository, but \(relative) does not exist"
                )
            }
        }
    }

    @Test("every ATTACHE_ variable the image sets is read by some service")
    func imageEnvironmentIsRead() throws {
        var read: Set<String> = []
        for name in try serviceNames() { read.formUnion(try variableUsage(ofService: name).read) }
        let unknown = try imageEnvironment().keys.filter { $0.hasPrefix("ATTACHE_") && !read.contains($0) }.sorted()
        #expect(
            unknown.isEmpty,
            "\(dockerfilePath) ENV sets \(unknown), which no service's sources (Services/*, Shared/Runtime) read: a typo, or a setting the code dropped"
        )
        for (key, value) in try imageEnvironment() where value.hasPrefix(imageConfigDirectory + "/") {
            let relative = configDirectory + "/" + value.dropFirst(imageConfigDirectory.count + 1)
            #expect(fileExists(relative), "\(dockerfilePath): ENV \(key)=\(value), but \(relative) does not exist")
        }
    }

    @Test("the Dockerfile builds statically in one stage and ships every program on slim Debian as non-root")
    func dockerfile() throws {
        let stages = try dockerfileStages()
        try #require(
            stages.count >= 2,
            "\(dockerfilePath) must be a multi-stage build (a Swift build stage and a slim runtime stage), has \(stages.count) stage(s)"
        )
        let build = stages.dropLast()
        let runtime = stages[stages.count - 1]

        #expect(
            runtime.base.range(of: #"^(docker\.io/)?(library/)?debian:[A-Za-z0-9._-]*slim"#, options: .regularExpression) != nil,
            "the final stage must start FROM a slim Debian image (debian:bookworm-slim), not '\(runtime.base)'")

        // Build stage: the -dev libraries, then a release build with the Swift runtime linked in.
        let buildRuns = build.flatMap { $0.all("RUN") }.map(\.arguments)
        let buildWords = Set(buildRuns.flatMap(shellWords))
        let missingDevPackages = [
            "librabbitmq-dev", "libpq-dev", "libcurl4-openssl-dev", "libespeak-ng-dev", "libpocketsphinx-dev",
            "libsphinxbase-dev",
        ].filter { !buildWords.contains($0) }
        #expect(missingDevPackages.isEmpty, "the build stage must apt-get install \(missingDevPackages)")
        // Each `swift build` command (up to the next ;, &&, ||, | or closing parenthesis),
        // except `--show-bin-path` queries, must link the Swift runtime statically.
        let swiftBuilds = buildRuns.flatMap { run in
            run.components(separatedBy: "swift build").dropFirst().map { tail in
                String(tail.prefix { !";&|)".contains($0) })
            }
        }.filter { !$0.contains("--show-bin-path") }
        #expect(!swiftBuilds.isEmpty, "no build stage runs `swift build`")
        for command in swiftBuilds {
            let words = shellWords(command)
            let release =
                words.contains("release") && (words.contains("-c") || words.contains("--configuration"))
                || words.contains("--configuration=release")
            #expect(
                release && words.contains("--static-swift-stdlib"),
                "`swift build\(command)` must build with `-c release --static-swift-stdlib` (the runtime image has no Swift runtime)"
            )
        }

        // Every program is built: named in a build stage's RUN or ARG (e.g. a PRODUCTS list).
        let buildText = build.flatMap { $0.all("RUN") + $0.all("ARG") }.map(\.arguments).joined(separator: "\n")
        let unbuilt = try shippedPrograms().filter { program in
            buildText.range(of: #"(^|[\s="'])"# + program + #"($|[\s"';])"#, options: .regularExpression) == nil
        }
        #expect(unbuilt.isEmpty, "the build stage never names \(unbuilt): add them to the products it builds (PRODUCTS)")

        // Runtime stage: only shared C libraries and what the health check needs.
        let runtimeWords = Set(runtime.all("RUN").flatMap { shellWords($0.arguments) })
        let missingPackages = [
            "librabbitmq4", "libpq5", "libcurl4", "libespeak-ng1", "espeak-ng-data", "libpocketsphinx3", "libsphinxbase3",
            "pocketsphinx-en-us", "ca-certificates", "tzdata", "curl",
        ]
        .filter { !runtimeWords.contains($0) }
        #expect(missingPackages.isEmpty, "the runtime stage must apt-get install \(missingPackages) (curl is the health check's)")

        // Every program at /usr/local/bin/<name>, copied from a build stage.
        var installed: Set<String> = []
        for copy in runtime.all("COPY") where copy.flags.contains(where: { $0.hasPrefix("--from=") }) {
            let words = copy.words
            guard let destination = words.last, words.count >= 2 else { continue }
            let sources = words.dropLast()
            if destination.hasSuffix("/") || sources.count > 1 {
                let directory = destination.hasSuffix("/") ? String(destination.dropLast()) : destination
                for source in sources where !source.hasSuffix("/") {
                    installed.insert(directory + "/" + (source.split(separator: "/").last.map(String.init) ?? source))
                }
            } else {
                installed.insert(destination)
            }
        }
        let missingPrograms = try shippedPrograms().filter { !installed.contains("/usr/local/bin/\($0)") }
        #expect(
            missingPrograms.isEmpty,
            "the runtime stage must COPY --from=<build stage> each of \(missingPrograms) to /usr/local/bin/<name> (name each binary: a whole-directory copy cannot be checked)"
        )

        // Configuration at /etc/attache.
        let configCopies = runtime.all("COPY").filter { !$0.flags.contains(where: { $0.hasPrefix("--from=") }) }.map(\.words)
        #expect(
            configCopies.contains { words in
                words.count == 2 && [configDirectory, configDirectory + "/"].contains(words[0])
                    && [imageConfigDirectory, imageConfigDirectory + "/"].contains(words[1])
            },
            "the runtime stage must `COPY \(configDirectory)/ \(imageConfigDirectory)/`")

        // Not root.
        let user = runtime.all("USER").last?.arguments.split(separator: ":").first.map(String.init)
        #expect(
            user != nil && user != "root" && user != "0",
            "the runtime stage must switch to a non-root USER, has \(user.map { "USER \($0)" } ?? "none")")

        #expect(
            runtime.all("HEALTHCHECK").last?.arguments.contains("/readyz") == true,
            "the runtime stage should have a HEALTHCHECK probing /readyz")
        if let entrypoint = runtime.all("ENTRYPOINT").last {
            let services = try serviceNames()
            #expect(
                !services.contains(where: { entrypoint.arguments.contains($0) }),
                "the image's ENTRYPOINT (\(entrypoint.arguments)) must not pick a service: each container chooses its own")
        }
    }

    @Test(".dockerignore keeps local state out of the build context but not the sources")
    func dockerignore() throws {
        let patterns = try dockerignorePatterns()
        for path in [".git", ".build", ".state"] {
            #expect(isIgnored(path, patterns: patterns), "\(dockerignorePath) should exclude \(path)")
        }
        // Everything the Dockerfile copies from the context must stay in it.
        let stages = try dockerfileStages()
        let contextSources = stages.flatMap { $0.all("COPY") + $0.all("ADD") }
            .filter { !$0.flags.contains(where: { $0.hasPrefix("--from=") }) }
            .flatMap { $0.words.dropLast() }
            .map { $0.replacingOccurrences(of: "*", with: "") }
        #expect(!contextSources.isEmpty, "\(dockerfilePath) copies nothing from the build context")
        for source in contextSources {
            #expect(
                !isIgnored(source, patterns: patterns),
                "\(dockerignorePath) excludes \(source), which \(dockerfilePath) copies into the image")
        }
    }

    @Test("the calendars in deploy/config are valid iCalendar (RFC 5545) files")
    func sampleCalendars() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: url(configDirectory).path).filter { $0.hasSuffix(".ics") }
        #expect(!files.isEmpty, "\(configDirectory) has no .ics file for calendar-monitor to watch")
        for file in files {
            let path = "\(configDirectory)/\(file)"
            let data = try Data(contentsOf: url(path))
            let text = try #require(String(data: data, encoding: .utf8), "\(path) is not UTF-8")
            #expect(text.hasSuffix("\r\n"), "\(path) must end with CRLF")
            let bareLineFeeds = text.replacingOccurrences(of: "\r\n", with: "").filter { $0 == "\n" || $0 == "\r" }.count
            #expect(
                bareLineFeeds == 0,
                "\(path) has \(bareLineFeeds) line(s) not ended by CRLF (RFC 5545 3.1); keep git from converting it (`*.ics -text` in .gitattributes)"
            )
            let lines = text.components(separatedBy: "\r\n").dropLast()
            for (number, line) in lines.enumerated() {
                #expect(line.utf8.count <= 75, "\(path):\(number + 1): content lines must be folded at 75 octets (RFC 5545 3.1)")
            }
            // Unfold, then check the structure.
            var unfolded: [String] = []
            for line in lines {
                if line.hasPrefix(" ") || line.hasPrefix("\t"), !unfolded.isEmpty {
                    unfolded[unfolded.count - 1] += line.dropFirst()
                } else {
                    unfolded.append(line)
                }
            }
            #expect(unfolded.first == "BEGIN:VCALENDAR" && unfolded.last == "END:VCALENDAR", "\(path) must be one VCALENDAR")
            #expect(unfolded.contains("VERSION:2.0"), "\(path) needs VERSION:2.0")
            #expect(unfolded.contains { $0.hasPrefix("PRODID:") }, "\(path) needs a PRODID")
            var open: [String] = []
            var event: Set<String> = []
            var events = 0
            for line in unfolded {
                let name = String(line.prefix { $0 != ":" && $0 != ";" })
                if line.hasPrefix("BEGIN:") {
                    open.append(String(line.dropFirst(6)))
                    if line == "BEGIN:VEVENT" { event = [] }
                } else if line.hasPrefix("END:") {
                    let component = String(line.dropFirst(4))
                    #expect(open.last == component, "\(path): END:\(component) closes \(open.last ?? "nothing")")
                    if !open.isEmpty { open.removeLast() }
                    if component == "VEVENT" {
                        events += 1
                        for property in ["UID", "DTSTAMP", "DTSTART"] {
                            #expect(event.contains(property), "\(path): VEVENT number \(events) has no \(property)")
                        }
                    }
                } else if open.last == "VEVENT" {
                    event.insert(name)
                }
            }
            #expect(open.isEmpty, "\(path): unclosed \(open)")
            #expect(events > 0, "\(path) has no VEVENT")
        }
    }
}
