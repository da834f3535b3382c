"""The series tab: a run's checkpoints, their recorded metrics and how every layer moved."""
