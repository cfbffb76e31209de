import Crypto
import Foundation

/// Encrypts secrets at rest with AES-256-GCM under the instance's secret key.
public struct SecretBox: Sendable {
    private let key: SymmetricKey
    private static let associatedData = Data("jira-bridge/secret/v1".utf8)

    /// A box for a 32-byte key.
    public init(keyBytes: Data) throws {
        guard keyBytes.count == 32 else { throw StoreError.corruptSecret }
        self.key = SymmetricKey(data: keyBytes)
    }

    /// A box for the base64 text of a 32-byte key (`JIRA_BRIDGE_SECRET_KEY`); nil if it is not one.
    public init?(base64Key: String) {
        guard let data = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else { return nil }
        self.key = SymmetricKey(data: data)
    }

    /// A fresh random key, as base64 text.
    public static func generateKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// A keyed fingerprint of a secret (HMAC-SHA256 under a key derived from the secret key), so a
    /// presented webhook token can be looked up without decrypting every stored secret, and a copy of the
    /// database alone does not allow guessing secrets offline.
    public func fingerprint(_ secret: String) -> String {
        let subkey = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data("jira-bridge/secret-fingerprint/v1".utf8), outputByteCount: 32)
        return HMAC<SHA256>.authenticationCode(for: Data(secret.utf8), using: subkey).map { String(format: "%02x", $0) }.joined()
    }

    /// Nonce, ciphertext and tag in one blob.
    public func seal(_ plaintext: String) throws -> Data {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key, authenticating: SecretBox.associatedData)
        guard let combined = box.combined else { throw StoreError.corruptSecret }
        return combined
    }

    public func open(_ blob: Data) throws -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: blob)
            let data = try AES.GCM.open(box, using: key, authenticating: SecretBox.associatedData)
            guard let text = String(data: data, encoding: .utf8) else { throw StoreError.corruptSecret }
            return text
        } catch {
            throw StoreError.corruptSecret
        }
    }
}

/// API token secrets: random, shown once, stored as SHA-256.
public enum TokenSecret {
    /// A new token: `jb_` and 32 random bytes in base64url.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let b64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "jb_" + b64
    }

    /// The hex SHA-256 of a token, the only form the store keeps.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `signature` (hex, any case) is the HMAC-SHA256 of `data` under `secret`: GitHub's
    /// `X-Hub-Signature-256` (after `sha256=`) and Gitea's `X-Gitea-Signature`. Compared in constant time.
    public static func isSignature(_ signature: String, of data: Data, secret: String) -> Bool {
        constantTimeEquals(self.signature(of: data, secret: secret), signature.lowercased())
    }

    /// The hex HMAC-SHA256 of `data` under `secret`.
    public static func signature(of data: Data, secret: String) -> String {
        HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: Data(secret.utf8))).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares two secrets in time independent of where they differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(SHA256.hash(data: Data(a.utf8)))
        let y = Array(SHA256.hash(data: Data(b.utf8)))
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
