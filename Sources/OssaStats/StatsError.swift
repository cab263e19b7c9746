/// Errors raised by the statistical routines (input validation and model failures).
public enum StatsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Arrays that must have one entry per subject differ in length.
    case lengthMismatch(String)
    /// A time is negative, NaN or infinite (index is 0-based, in input order).
    case invalidTime(index: Int, value: Double)
    /// A covariate value is NaN or infinite.
    case invalidCovariate(name: String, index: Int, value: Double)
    /// A status code is negative (competing risks).
    case invalidStatus(index: Int, value: Int)
    /// The data set has no subjects.
    case noSubjects
    /// The model needs at least one event.
    case noEvents
    /// The Cox information matrix is singular: the named covariates are constant or collinear.
    case singularCovariates([String])
    /// A parameter is outside its domain (e.g. a confidence level not in (0, 1)).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .lengthMismatch(let what): return "length mismatch: \(what)"
        case .invalidTime(let i, let v): return "subject \(i + 1): invalid time \(v) (must be finite and ≥ 0)"
        case .invalidCovariate(let name, let i, let v): return "subject \(i + 1): covariate '\(name)' is not finite (\(v))"
        case .invalidStatus(let i, let v): return "subject \(i + 1): invalid status \(v) (0 = censored, 1, 2, … = cause)"
        case .noSubjects: return "no subjects"
        case .noEvents: return "no events: the model cannot be fitted"
        case .singularCovariates(let names):
            return "covariates are constant or collinear: \(names.joined(separator: ", "))"
        case .invalidArgument(let what): return "invalid argument: \(what)"
        }
    }
}
