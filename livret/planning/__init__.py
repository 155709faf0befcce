"""Planning: planned meetings and visits, follow-up rules at work, calendar feeds, scheduled mails."""
