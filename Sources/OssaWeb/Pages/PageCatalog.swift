import Foundation

/// One sample model of every page, with the states worth seeing (a refused form, an empty list). `PageRenderTests`
/// renders each and checks every view in `Resources/templates` is covered, so a page cannot ship unrendered.
enum PageCatalog {
    static let sampleUser = UserBar(displayName: "Dr Sample", role: "clinician", csrfToken: "sample-csrf", seesPatients: true)

    static var samples: [any Page] {
        [
            LoginPage(),
            LoginPage(email: "someone@example.org", emailError: nil, passwordError: "Enter your password",
                      summary: [.init(fieldID: "password", message: "Enter your password")]),
            HomePage(user: UserBar(displayName: "Rae Searcher", role: "researcher", csrfToken: "sample-csrf", seesPatients: false)),
            PatientListPage(
                title: "Patients", user: sampleUser, query: "",
                sites: [.init(id: "s1", code: "VIE-1", name: "Vienna", selected: false), .init(id: "s2", code: "GRZ-1", name: "Graz", selected: true)],
                hasSites: true,
                table: TableModel(caption: "Patients", headers: ["Name", "Born", "MRN", "Site", "Episodes"], rows: [
                    .init(cells: [.init("Müller, Anna"), .init("1961-04-03"), .init("A-1"), .init("VIE-1"),
                                  .init("none", links: [.init(url: Paths.episode.url("e1"), text: "left knee, bone marrow lesion")])]),
                    .init(cells: [.init("Novak, Petr"), .init("1955-11-20"), .init("–"), .init("VIE-1"), .init("none")]),
                ]),
                pagination: Pagination(previousURL: nil, nextURL: Paths.patients.template + "?offset=25", summary: "Showing 1–25 of 40 patients.")),
            PatientListPage(title: "Patients", user: sampleUser, query: "nobody", sites: [], hasSites: false,
                            table: TableModel(caption: "Patients", headers: ["Name"], rows: []),
                            pagination: Pagination(previousURL: nil, nextURL: nil, summary: "No patients found.")),
            EpisodePage(
                title: "Müller, Anna · left knee", user: sampleUser, patient: .init(name: "Müller, Anna"),
                episode: EpisodeView(joint: "knee", side: "left", jointLabel: "left knee, bone marrow lesion", diagnosis: "bone marrow lesion",
                                     status: "open", lastContact: "2026-03-01", opened: "2026-01-10"),
                patientFacts: SummaryList([("Name", "Müller, Anna"), ("Born", "1961-04-03")]),
                episodeFacts: SummaryList([("Joint", "knee"), ("Opened", "2026-01-10")]),
                otherEpisodes: [.init(url: Paths.episode.url("e2"), label: "right knee, osteoarthritis")], hasOtherEpisodes: true),
            ErrorPage(title: "Not Found", heading: "Not Found", detail: "no episode e3", status: 404, requestID: "req-1", user: sampleUser),
        ]
    }
}
