"""Sign-off: signing an entry (the one signature record), what waits for a signature, reminders."""
