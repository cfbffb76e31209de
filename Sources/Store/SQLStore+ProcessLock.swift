import Foundation

#if canImport(Glibc)
import Glibc
/// The C library's `close` (the store has a `close()` of its own).
private let closeDescriptor = Glibc.close
#elseif canImport(Darwin)
import Darwin
private let closeDescriptor = Darwin.close
#endif

extension SQLStore {
    /// Takes the serving lock of this database file (`<file>.lock`, an advisory `flock` that the kernel
    /// drops when the process ends, however it ends). Holding it, this process is the only server on the
    /// file, so whatever leases the file still holds belong to a process that is gone: they can be
    /// released at once instead of after a timeout. Throws when another live process holds it.
    ///
    /// On PostgreSQL several processes serve one database by design: none takes over, and a dead one's
    /// leases are released by the others' heartbeats once it has missed them (`staleWorkerMillis`).
    public func acquireServingLock() throws -> Bool {
        guard let path = sqlite?.path else { return false }
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError.conflict("cannot open the lock file \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            _ = closeDescriptor(fd)
            throw StoreError.conflict("another jira-bridge process is serving this database (it holds \(lockPath)); stop it first")
        }
        // Kept open for the life of the process: closing it would drop the lock.
        servingLock.withLock { $0 = fd }
        return true
    }

    /// Holds the serving lock of the SQLite file at `path` for as long as the returned descriptor stays open (a
    /// copy of the file: no server may start on it meanwhile). Throws when a server holds it.
    public static func holdServingLock(sqlitePath path: String) throws -> Int32 {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.conflict("cannot open the lock file \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            _ = closeDescriptor(fd)
            throw StoreError.conflict("a jira-bridge server is serving \(path) (it holds \(lockPath)): stop it first")
        }
        return fd
    }

    /// Lets go of a lock from `holdServingLock`.
    public static func releaseServingLock(_ fd: Int32) { _ = closeDescriptor(fd) }
}
