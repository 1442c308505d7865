"""The writer kernel shared by jira-writer and pd-writer (a library: never run on its own)."""
