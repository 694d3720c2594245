"""Pure decisions: no I/O, no clock of their own; tested without a database."""
