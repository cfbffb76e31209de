// Fuzz target: what the forges' APIs answer (lists a backfill reads, webhook records a catch-up reads, the Link
// header), and Create branch's names: nothing crashes, lists are cut to their limits, a suggested branch name
// is one git takes.
import Forges
import Integration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForgeAPI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    _ = CatchUp.nextCursor(link: text)
    let name = BranchName.suggested(key: "PROJ-1", summary: text)
    if BranchName.problem(name) != nil { fatalError("the suggestion \(name.debugDescription) is not a branch name git takes") }
    guard let doc = try? JSONValue.parse(Array(bytes)) else { return 0 }
    for forge in [Forge.gitlab, .github, .gitea] {
        let project = ForgeProject(
            id: 7, pathWithNamespace: "o/r", name: "r", namespaceName: "o", webURL: "https://forge.example.com/o/r", defaultBranch: "main",
            forge: forge)
        if Listings.mergeRequests(doc, project: project, limit: 3).count > 3 { fatalError("more merge requests than asked for") }
        if Listings.branches(doc, project: project, limit: 3).count > 3 { fatalError("more branches than asked for") }
        _ = Listings.commits(doc, project: project, limit: 3)
    }
    _ = CatchUp.githubMissed(doc, since: 1_780_000_000_000)
    for event in CatchUp.gitlabMissed(doc) where event.payload.object == nil { fatalError("an event without a payload object") }
    return 0
}
