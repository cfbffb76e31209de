#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

extension SQLiteStore {
    /// Takes the serving lock of this database file (`<file>.lock`, an advisory `flock` that the kernel
    /// drops when the process ends, however it ends). Holding it, this process is the only server on the
    /// file, so whatever leases the file still holds belong to a process that is gone: they can be
    /// released at once instead of after a timeout. Throws when another live process holds it.
    public func acquireServingLock() throws -> Bool {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError.conflict("cannot open the lock file \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw StoreError.conflict("another jira-bridge process is serving this database (it holds \(lockPath)); stop it first")
        }
        // Kept open for the life of the process: closing it would drop the lock.
        servingLock.withLock { $0 = fd }
        return true
    }
}
