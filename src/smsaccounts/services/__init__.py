"""Use cases, one function each; they take a unit of work and know no HTTP and no SQL text."""
