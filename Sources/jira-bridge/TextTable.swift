import Foundation

/// A plain text table for the command line: columns padded to their widest cell, two spaces apart, the last
/// column unpadded (it may be long).
enum TextTable {
    static func lines(_ rows: [[String]]) -> [String] {
        guard let header = rows.first else { return [] }
        var widths = Array(repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
    }
}
