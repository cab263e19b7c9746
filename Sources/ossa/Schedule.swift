import ArgumentParser
import Foundation
import OssaCore

struct Schedule: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the follow-up schedule for an episode from the date of its first IO procedure.",
        discussion: "Months are calendar months; windows are inclusive."
    )

    @Option(name: .customLong("index-date"), help: "Date of the first IO procedure (YYYY-MM-DD).")
    var indexDate: String

    @Option(help: "Treated joint: knee, hip, ankle or shoulder (chooses KOOS or HOOS).")
    var joint: String

    @Option(name: .customLong("protocol"), help: "A clinic's follow-up protocol file (JSON); the bundled default when omitted.")
    var protocolFile: String?

    @Option(help: "Output format: json or text.")
    var format: OutputFormat = .text

    func run() throws {
        let date: CalendarDate
        do { date = try CalendarDate(iso: indexDate) } catch {
            throw CommandLineError(message: "--index-date: \(error.message)")
        }
        guard let treated = Joint(rawValue: joint) else {
            throw CommandLineError(message: "--joint: '\(joint)' is not one of \(Joint.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let followUp: FollowUpProtocol
        if let protocolFile {
            let data = try readInput(protocolFile, option: "--protocol")
            do { followUp = try FollowUpProtocol.decode(from: data) } catch {
                throw CommandLineError(message: "\(protocolFile): \(error)")
            }
        } else {
            followUp = try FollowUpProtocol.bundledDefault()
        }
        let schedule = followUp.schedule(indexDate: date, joint: treated)
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            emit(String(decoding: try encoder.encode(schedule), as: UTF8.self))
        case .text:
            emit("protocol \(schedule.protocolId) \(schedule.protocolVersion); \(treated.rawValue); first IO procedure \(date)")
            for tp in schedule.timepoints {
                let label = tp.label.padding(toLength: 28, withPad: " ", startingAt: 0)
                emit("\(label) \(tp.targetDate)  window \(tp.windowOpen) – \(tp.windowClose)  \(tp.instruments.joined(separator: ", "))")
            }
        }
    }
}
