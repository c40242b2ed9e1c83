"""Commands sent to devices and their results."""
