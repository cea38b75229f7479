"""Built-in distributions, one DSL file each."""
