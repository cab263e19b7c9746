import Mustache

// Mustache finds a view's names through `MustacheParent` when a model provides it, and through `Mirror` otherwise.
// Reflection was the largest single cost of the busiest pages (a quarter of an episode page view's CPU on a large
// registry), so the models those pages are made of answer directly. Each lists exactly its stored properties
// under their own names: an optional answers its value or nil, which Mustache treats as "not here" (as it does
// for a nil property it finds by reflection). The full-page snapshots pin the output: it must not change.

extension TableModel: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "caption": caption
        case "captionHidden": captionHidden
        case "headers": headers
        case "rows": rows
        case "hasRows": hasRows
        case "emptyText": emptyText
        default: nil
        }
    }
}

extension TableModel.Row: MustacheParent {
    func child(named name: String) -> Any? { name == "cells" ? cells : nil }
}

extension TableModel.Cell: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "text": text
        case "links": links
        case "hasLinks": hasLinks
        case "cellClass": cellClass
        default: nil
        }
    }
}

extension TableModel.Link: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "url": url
        case "text": text
        default: nil
        }
    }
}

extension SummaryList: MustacheParent {
    func child(named name: String) -> Any? { name == "rows" ? rows : nil }
}

extension SummaryList.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "key": key
        case "value": value
        default: nil
        }
    }
}

extension Pagination: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "previousURL": previousURL
        case "nextURL": nextURL
        case "summary": summary
        default: nil
        }
    }
}

extension UserBar: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "displayName": displayName
        case "role": role
        case "csrfToken": csrfToken
        case "seesPatients": seesPatients
        case "seesAdmin": seesAdmin
        case "seesWorklist": seesWorklist
        case "registersPatients": registersPatients
        case "seesAnalytics": seesAnalytics
        case "seesExports": seesExports
        case "hasNav": hasNav
        default: nil
        }
    }
}

extension Chrome: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "stylesheetURL": stylesheetURL
        case "homeURL": homeURL
        case "patientsURL": patientsURL
        case "newPatientURL": newPatientURL
        case "logoutURL": logoutURL
        case "loginURL": loginURL
        case "adminURL": adminURL
        case "analyticsURL": analyticsURL
        case "exportsURL": exportsURL
        case "isPublic": isPublic
        case "publicName": publicName
        default: nil
        }
    }
}

extension EpisodePage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "user": user
        case "chrome": chrome
        case "patient": patient
        case "episode": episode
        case "patientFacts": patientFacts
        case "episodeFacts": episodeFacts
        case "steps": steps
        case "screeningTable": screeningTable
        case "imagingTable": imagingTable
        case "procedureTable": procedureTable
        case "adjunctTable": adjunctTable
        case "outcomeTable": outcomeTable
        case "followUpURL": followUpURL
        case "otherEpisodes": otherEpisodes
        case "hasOtherEpisodes": hasOtherEpisodes
        default: nil
        }
    }
}

extension EpisodePage.Step: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "title": title
        case "state": state
        case "stateLabel": stateLabel
        case "summary": summary
        case "latest": latest
        case "actions": actions
        default: nil
        }
    }
}

extension EpisodePage.Action: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "url": url
        case "label": label
        default: nil
        }
    }
}

extension EpisodePage.PatientHeader: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "url": url
        default: nil
        }
    }
}

extension EpisodePage.EpisodeLink: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "url": url
        case "label": label
        default: nil
        }
    }
}

extension EpisodeView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "joint": joint
        case "side": side
        case "jointLabel": jointLabel
        case "diagnosis": diagnosis
        case "status": status
        case "lastContact": lastContact
        case "opened": opened
        default: nil
        }
    }
}

extension WorklistPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "user": user
        case "chrome": chrome
        case "today": today
        case "sections": sections
        case "upcoming": upcoming
        case "newPatientURL": newPatientURL
        case "completionURL": completionURL
        case "deliveryWarning": deliveryWarning
        default: nil
        }
    }
}

extension WorklistPage.Section: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "title": title
        case "count": count
        case "countLabel": countLabel
        case "hint": hint
        case "table": table
        case "more": more
        case "link": link
        default: nil
        }
    }
}

extension PatientListPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "user": user
        case "chrome": chrome
        case "query": query
        case "sites": sites
        case "hasSites": hasSites
        case "table": table
        case "pagination": pagination
        case "filters": filters
        case "newPatientURL": newPatientURL
        case "canCreate": canCreate
        default: nil
        }
    }
}

extension PatientListPage.SiteOption: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "code": code
        case "name": self.name
        case "selected": selected
        default: nil
        }
    }
}

extension FormField: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "name": self.name
        case "label": label
        case "type": type
        case "value": value
        case "hint": hint
        case "error": error
        case "autocomplete": autocomplete
        case "inputmode": inputmode
        case "required": required
        case "describedBy": describedBy
        case "isInput": isInput
        case "isSelect": isSelect
        case "isTextarea": isTextarea
        case "isRadios": isRadios
        case "isCheckboxes": isCheckboxes
        case "isHidden": isHidden
        case "isGroup": isGroup
        case "choiceType": choiceType
        case "inline": inline
        case "options": options
        case "widthClass": widthClass
        case "labelHidden": labelHidden
        default: nil
        }
    }
}

extension FieldOption: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "value": value
        case "label": label
        case "selected": selected
        case "hint": hint
        default: nil
        }
    }
}

extension AnalyticsPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "user": user
        case "chrome": chrome
        case "errors": errors
        case "filterFields": filterFields
        case "rangeFields": rangeFields
        case "groupFields": groupFields
        case "formAction": formAction
        case "hasResults": hasResults
        case "summary": summary
        case "researcherNote": researcherNote
        case "jsonURL": jsonURL
        case "results": results
        case "resultsHTML": resultsHTML
        case "savedCohorts": savedCohorts
        case "hasSavedCohorts": hasSavedCohorts
        case "saveAction": saveAction
        case "saveQuery": saveQuery
        case "cohortName": cohortName
        case "saveErrors": saveErrors
        default: nil
        }
    }
}

extension AnalyticsPage.Results: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "flow": flow
        case "flowCSV": flowCSV
        case "sections": sections
        default: nil
        }
    }
}

extension AnalyticsPage.Section: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "heading": heading
        case "intro": intro
        case "tables": tables
        case "figures": figures
        case "csvURL": csvURL
        case "notes": notes
        default: nil
        }
    }
}

extension AnalyticsPage.Figure: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "heading": heading
        case "svg": svg
        case "table": table
        case "csvURL": csvURL
        case "note": note
        case "open": open
        default: nil
        }
    }
}

extension AnalyticsPage.FlowStep: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "label": label
        case "count": count
        case "first": first
        default: nil
        }
    }
}

extension AnalyticsPage.SavedCohort: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": name
        case "url": url
        case "selected": selected
        default: nil
        }
    }
}
