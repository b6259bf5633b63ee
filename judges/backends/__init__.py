"""Judge backends behind one small protocol (`judges.backends.base.Judge`)."""
