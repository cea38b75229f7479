"""Per-target code generation: a target names its templates and its function printer."""
