import Foundation
import OssaCore

/// A timepoint's questionnaire as the phone shows it: the protocol's instruments for the joint, each split into
/// pages of at most `maxItemsPerPage` questions along the instrument's own subscales (KOOS: symptoms, pain, daily
/// living, sport, quality of life), so that a page is one topic and short enough for a phone.
///
/// Only choice items are asked (as on the staff's telephone form); the events form's date and free-text details
/// are collected by the coordinator who follows up a "yes".
struct PortalQuestionnaire: Sendable {
    struct Section: Sendable {
        /// 1-based page number.
        var number: Int
        var instrument: InstrumentDefinition
        var title: String
        var items: [InstrumentItem]
    }

    static let maxItemsPerPage = 9

    var instruments: [InstrumentDefinition]
    var sections: [Section]

    init(timepointCode: String, joint: Joint, protocol followUp: FollowUpProtocol, library: InstrumentLibrary) {
        // Diary days are one protocol timepoint repeated (`diary` → `diary-d1`, …).
        let definition = followUp.timepoints.first { $0.id == timepointCode || timepointCode.hasPrefix($0.id + "-d") }
        let ids = definition.map { $0.instruments + ($0.instrumentsByJoint?[joint.rawValue] ?? []) } ?? []
        instruments = ids.compactMap { library.instrument(id: $0) }
        var sections: [Section] = []
        for instrument in instruments {
            let choice = instrument.items.filter { $0.itemType == .choice }
            guard !choice.isEmpty else { continue }
            // Groups: each subscale's items in order (an item in two subscales goes with the first), then the rest.
            var groups: [(String?, [InstrumentItem])] = []
            var placed = Set<String>()
            if choice.count > Self.maxItemsPerPage {
                for score in instrument.scores {
                    let items = choice.filter { score.items.contains($0.code) && !placed.contains($0.code) }
                    guard !items.isEmpty else { continue }
                    items.forEach { placed.insert($0.code) }
                    groups.append((score.label, items))
                }
            }
            let rest = choice.filter { !placed.contains($0.code) }
            if !rest.isEmpty { groups.append((nil, rest)) }
            for (label, items) in groups {
                let chunks = stride(from: 0, to: items.count, by: Self.maxItemsPerPage).map { Array(items[$0..<min($0 + Self.maxItemsPerPage, items.count)]) }
                for (index, chunk) in chunks.enumerated() {
                    var title = instrument.title
                    if let label { title += ": \(label)" }
                    if chunks.count > 1 { title += " (\(index + 1) of \(chunks.count))" }
                    sections.append(Section(number: sections.count + 1, instrument: instrument, title: title, items: chunk))
                }
            }
        }
        self.sections = sections
    }

    /// The field name of an item's radio group.
    static func field(_ instrument: String, _ item: String) -> String { "a[\(instrument)][\(item)]" }

    /// One page's posted answers: each item's value, nil when left unanswered; unknown values are errors.
    func read(_ section: Section, _ values: FormValues) -> (answers: [String: [String: Int?]], errors: FormErrors) {
        var errors = FormErrors()
        var answers: [String: Int?] = [:]
        for item in section.items {
            let name = Self.field(section.instrument.id, item.code)
            let text = values[name]
            if text.isEmpty { answers[item.code] = .some(nil); continue }
            guard let value = Int(text), section.instrument.options(for: item).contains(where: { $0.value == value }) else {
                errors.add(name, "Choose one of the answers")
                continue
            }
            answers[item.code] = value
        }
        return ([section.instrument.id: answers], errors)
    }

    /// The answers to submit, per instrument, from the draft. An instrument with no answer at all is left out (the
    /// patient skipped it) unless every instrument is empty.
    /// A follow-up question whose condition is not met ("Which replacement?" after "No") is dropped, whatever was saved.
    func submissions(_ draft: [String: [String: Int?]]) -> [(InstrumentDefinition, [String: Int?])] {
        instruments.compactMap { instrument in
            let saved = draft[instrument.id] ?? [:]
            let answers = Dictionary(uniqueKeysWithValues: instrument.items.filter { $0.itemType == .choice }.map { item -> (String, Int?) in
                if let condition = item.enableWhen, (saved[condition.item] ?? nil) != condition.equals { return (item.code, nil) }
                return (item.code, saved[item.code] ?? nil)
            })
            return answers.values.contains { $0 != nil } ? (instrument, answers) : nil
        }
    }

    /// Whether a section's items are all unanswered in the draft (shown as "not answered" on the review page).
    func answered(_ section: Section, _ draft: [String: [String: Int?]]) -> Int {
        section.items.filter { (draft[section.instrument.id]?[$0.code] ?? nil) != nil }.count
    }
}
