// Registry analytics: the cohort definition, the extract the store builds for it, the analyses (flow, baseline,
// outcomes, responders, survival, BML change, safety, literature) and their SVG plots. Pure Swift, no I/O: the
// store reads the database into a `RegistryExtract`, the web layer and the CLI render what this module computes.
