/// FHIR R4 exchange: the Codable subset Ossa writes (`FHIRTypes.swift`), the mapping from OssaCore records
/// (`FHIRMapping`) and the table of what the endpoint supports (`FHIRCapabilities`). No I/O.
public enum OssaFHIR {
    /// The FHIR release Ossa speaks.
    public static let fhirVersion = "4.0.1"
    /// The server's software version in the CapabilityStatement.
    public static let serverVersion = "0.1.0"
}
