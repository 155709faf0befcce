"""livret: a learner e-portfolio and tutoring record kept as plain files."""

__version__ = "0.1.0"
