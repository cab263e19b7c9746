/// FHIR R4 exchange (Patient, Condition, Procedure, Observation, Questionnaire, QuestionnaireResponse,
/// AuditEvent) lives here. The Codable subset and its mapping to OssaCore arrive with the FHIR issue;
/// this target exists now so the dependency graph of the package is fixed from the start.
public enum OssaFHIR {
    /// The FHIR release Ossa speaks.
    public static let fhirVersion = "4.0.1"
}
