import ClassificationRules
import Delivery
import Foundation
import Runtime

if CommandLine.arguments.dropFirst().first == "classify" {
    let now: Date
    do {
        now = try ClassifyCommand.now(arguments: Array(CommandLine.arguments.dropFirst(2)))
    } catch {
        FileHandle.standardError.write(Data("classifier: \(error)\n".utf8))
        exit(64)
    }
    do {
        exit(ClassifyCommand.run(rules: try ClassifierConfiguration.rules(Environment()), now: now))
    } catch {
        FileHandle.standardError.write(Data("classifier: configuration error: \(error)\n".utf8))
        exit(78)
    }
}

await ServiceMain.run(ClassifierConfiguration.self) { configuration, logger in
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: ClassificationsSchema.name, migrations: ClassificationsSchema.migrations,
        logger: logger)
    var routes = EventRoutes()
    ClassificationHandlers(rules: configuration.rules, botJoinLead: configuration.botJoinLead).register(in: &routes)
    try await runtime.run(handling: routes)
}
