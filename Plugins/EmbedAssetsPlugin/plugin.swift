import Foundation
import PackagePlugin

/// Compiles the pages' files (`Pages/assets` of the target: HTML, CSS, JavaScript) into the
/// target as `Assets.files` (issue 21): one binary, and pages that are real files.
@main
struct EmbedAssetsPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = target.directoryURL.appending(path: "Pages/assets")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
            $0.hasSuffix(".html") || $0.hasSuffix(".css") || $0.hasSuffix(".js")
        }.sorted()
        let inputs = names.map { folder.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "Assets.swift")
        return [.buildCommand(displayName: "Embedding \(names.count) page files", executable: try context.tool(named: "EmbedAssets").url,
                              arguments: [output.path] + inputs.map(\.path), inputFiles: inputs, outputFiles: [output])]
    }
}
