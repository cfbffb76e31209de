import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// How long a client may take, and how many may be connected at once (`docs/security.md`, "Connections").
public struct ConnectionLimits: Sendable, Equatable {
    /// From the connection's opening (or the end of the previous answer on a kept-alive connection) to the
    /// last byte of the request's headers. A client that sends headers slowly, or none, is cut off after it.
    public var headerTimeout: Duration
    /// From the end of the headers to the last byte of the body. A trickled body is cut off after it, and
    /// what it reserved of the webhook budget is given back.
    public var bodyTimeout: Duration
    /// Connections open at once; the next one waits in the listen backlog until one closes.
    public var maxConnections: Int

    public init(headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(30), maxConnections: Int = 4096) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maxConnections = maxConnections
    }
}

/// Closes a connection whose client is too slow: no complete request head within `headerTimeout` of the
/// connection opening or of the previous answer, or no end of the body within `bodyTimeout` of its head.
/// While the server works on a request (its body read, its answer not yet written) no timer runs: the
/// answer's own time is the route's business.
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase { case awaitingHead, readingBody, handling, lingering }
    /// How long a connection answered before its body was read keeps reading (and discarding) what the client
    /// still sends, so the client, or a proxy in front, reads the answer instead of a reset (nginx's
    /// "lingering close"); then it closes, whatever is left.
    static let lingerTime: Duration = .seconds(5)

    private let limits: ConnectionLimits
    private let onTimeout: @Sendable (_ phase: String) -> Void
    private var phase = Phase.awaitingHead
    private var closeAfterAnswer = false
    private var timer: Scheduled<Void>?
    /// Bumped whenever the timer is re-armed, so a timer that fires late for an old phase does nothing.
    private var generation = 0

    init(limits: ConnectionLimits, onTimeout: @escaping @Sendable (_ phase: String) -> Void) {
        self.limits = limits
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, limits.headerTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil && phase == .awaitingHead { arm(context, limits.headerTimeout) }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .lingering {
            // The answer is out: what still arrives is thrown away, and the connection closes at its end.
            if case .end = unwrapInboundIn(data) {
                disarm()
                context.close(promise: nil)
            } else {
                context.read()
            }
            return
        }
        switch unwrapInboundIn(data) {
        case .head:
            phase = .readingBody
            arm(context, limits.bodyTimeout)
        case .body:
            break
        case .end:
            phase = .handling
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where phase == .readingBody:
            // Answered before the body was read (a refusal): the connection closes after the answer instead of
            // reading, and throwing away, what may be 25 MB more.
            closeAfterAnswer = true
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterAnswer:
            // Half-close: the answer and a FIN go out, then the rest of the body is read and discarded for a
            // while. Closing at once, with unread bytes in the socket, would send a reset that can destroy the
            // answer on its way (a proxy in front then reports 502).
            disarm()
            phase = .lingering
            let flushed = context.eventLoop.makePromise(of: Void.self)
            flushed.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: flushed)
            flushed.futureResult.assumeIsolated().whenComplete { [self] result in
                guard case .success = result else { return context.close(promise: nil) }
                context.close(mode: .output, promise: nil)
                arm(context, Self.lingerTime)
                context.read()
            }
        case .end where phase == .handling:
            // The answer is written: the client has `headerTimeout` for its next request on this connection.
            phase = .awaitingHead
            arm(context, limits.headerTimeout)
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    private func arm(_ context: ChannelHandlerContext, _ delay: Duration) {
        disarm()
        generation &+= 1
        let armed = generation
        let loop = context.eventLoop.assumeIsolatedUnsafeUnchecked()
        timer = loop.scheduleTask(in: TimeAmount(delay)) { [self] in
            guard armed == generation else { return }
            timer = nil
            switch phase {
            case .awaitingHead: onTimeout("headers")
            case .readingBody: onTimeout("body")
            case .handling: return
            case .lingering: break
            }
            context.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
