"""The company tutor's access without a password: links by mail, the device session they open."""
