import Foundation
import PackagePlugin

/// Before every build, writes `BuildInfo.swift` (the version in VERSION and the git commit) for the target
/// that uses this plugin, by running scripts/build-info.sh with the system shell.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let package = context.package.directoryURL
        return [
            .prebuildCommand(
                displayName: "Writing BuildInfo.swift (version and git commit)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [package.appending(path: "scripts/build-info.sh").path, package.path, output.path],
                outputFilesDirectory: output)
        ]
    }
}
