import Integration
import Mustache
import Store

/// A page's typed values. The templates read them by name; an empty string or a nil reads as absent, so
/// `{{#url}}` never renders an empty link and `{{^error}}` shows when there is none.
protocol ViewModel: MustacheParent, Sendable {}

extension ViewModel {
    func child(named name: String) -> Any? {
        guard let value = Mirror(reflecting: self).children.first(where: { $0.label == name })?.value else { return nil }
        return ViewValue.present(value)
    }
}

enum ViewValue {
    /// `value` unwrapped from any optional; nil for none and for an empty string.
    static func present(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return nil }
            return present(wrapped)
        }
        if let text = value as? String, text.isEmpty { return nil }
        return value
    }
}

/// A link of the breadcrumb trail.
struct Crumb: ViewModel {
    var label: String
    var href: String
}

/// The one-line notice at the top of a page.
struct Flash: ViewModel {
    var kind: String
    var text: String

    static func ok(_ text: String) -> Flash { Flash(kind: "ok", text: text) }
    static func error(_ text: String) -> Flash { Flash(kind: "error", text: text) }
}

/// What every page shows around its content, built in one place from the request: who is signed in,
/// the form token, the breadcrumbs and the notice.
struct PageContext: ViewModel {
    var signedIn: Bool
    var isAdmin: Bool
    var who: String
    var csrf: String
    var breadcrumbs: [Crumb]
    var flash: Flash?
    var hasBreadcrumbs: Bool

    init(_ context: BridgeRequestContext, breadcrumbs: [Crumb] = [], flash: Flash? = nil) {
        signedIn = context.webIdentity != nil
        isAdmin = context.webIdentity == .instanceAdmin
        who = context.webUser ?? ""
        csrf = context.webSession?.csrfToken ?? ""
        self.breadcrumbs = breadcrumbs
        hasBreadcrumbs = !breadcrumbs.isEmpty
        self.flash = flash
    }

    /// The sign-in page's: nobody is signed in.
    static let signedOut = PageContext(signedIn: false)

    private init(signedIn: Bool) {
        self.signedIn = signedIn
        isAdmin = false
        who = ""
        csrf = ""
        breadcrumbs = []
        hasBreadcrumbs = false
        flash = nil
    }
}

/// What a template renders: the page context (for the layout) and the page's own model, looked up in
/// that order under one name space.
struct RenderedPage<Model: ViewModel>: MustacheParent {
    var page: PageContext
    var model: Model

    func child(named name: String) -> Any? {
        page.child(named: name) ?? model.child(named: name)
    }
}

/// The error page.
struct ErrorView: ViewModel {
    var heading: String
    var message: String
}

/// A project as the pages show it.
struct ProjectView: ViewModel {
    /// The project's address in page URLs: `42`, or `github:123456`.
    var id: String
    var name: String
    var path: String
    /// "GitLab", "GitHub", "Gitea".
    var forge: String
    /// Only an http(s) URL; anything else is not linked.
    var webURL: String

    init(_ p: Project) {
        id = p.address
        name = p.name
        path = p.forgePath
        forge = p.forge.displayName
        webURL = WebController.linkable(p.webURL)
    }
}
