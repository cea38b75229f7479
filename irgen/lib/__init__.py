"""DSL libraries: special functions written once and reused by distributions."""
