import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Synchronization
import Testing

@testable import Server

/// The connection deadlines with the default settings, on an event loop whose time the test moves
/// (`EmbeddedEventLoop.advanceTime`): the handler the server installs, without waiting 10 or 30 s of real
/// time. `IntakeDefenseTests` covers the same handler on real sockets: the 10 s default through a running
/// server (which shows the server installs it with its configuration's limits), and short limits for the body,
/// the trickles and the lingering close. A body left unsent for the default 30 s is tested here only.
@Suite("Connection deadlines on a clock")
struct ConnectionDeadlineTests {
    final class Timeouts: Sendable {
        let phases = Mutex<[String]>([])
        var all: [String] { phases.withLock { $0 } }
    }

    func channel(_ timeouts: Timeouts) throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        let loop = EmbeddedEventLoop()
        let handler = ConnectionDeadlineHandler(limits: ConnectionLimits()) { phase in timeouts.phases.withLock { $0.append(phase) } }
        let channel = EmbeddedChannel(handler: handler, loop: loop)
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 8080), promise: nil)
        return (channel, loop)
    }

    @Test("the defaults give a client 10 s for its request head: not a moment less, not more")
    func headDeadline() throws {
        let timeouts = Timeouts()
        let (channel, loop) = try channel(timeouts)
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(9_999))
        #expect(channel.isActive && timeouts.all.isEmpty, "still open just before 10 s")
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive, "closed at 10 s")
        #expect(timeouts.all == ["headers"])
    }

    @Test("the defaults give a body 30 s from its head; an answered request gives the next head 10 s again")
    func bodyDeadline() throws {
        let timeouts = Timeouts()
        let (channel, loop) = try channel(timeouts)
        let head = HTTPRequest(method: .post, scheme: "http", authority: "x", path: "/webhooks/gitlab")
        try channel.writeInbound(HTTPRequestPart.head(head))
        loop.advanceTime(by: .seconds(20))
        #expect(channel.isActive, "the head deadline no longer runs once the head is in")
        loop.advanceTime(by: .milliseconds(9_999))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive, "closed 30 s after the head")
        #expect(timeouts.all == ["body"])

        let again = Timeouts()
        let (kept, keptLoop) = try self.channel(again)
        try kept.writeInbound(HTTPRequestPart.head(head))
        try kept.writeInbound(HTTPRequestPart.end(nil))
        keptLoop.advanceTime(by: .seconds(60))
        #expect(kept.isActive, "no deadline while the server works on the request")
        try kept.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .accepted)))
        try kept.writeOutbound(HTTPResponsePart.end(nil))
        keptLoop.advanceTime(by: .milliseconds(9_999))
        #expect(kept.isActive)
        keptLoop.advanceTime(by: .milliseconds(1))
        #expect(!kept.isActive, "the next head gets 10 s")
        #expect(again.all == ["headers"])
    }
}
