"""Background jobs: a jobs table holds the truth (state, attempts, lease, progress, error); Huey only
carries "run job X" messages, so a message lost with a killed worker is re-sent by the sweep."""
