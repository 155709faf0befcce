"""Mail: the outbox in the instance database, the background sender, SMTP or ``.eml`` files, the messages."""
