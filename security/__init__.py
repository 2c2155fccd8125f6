"""What guards the ways in and out: admin logins and sessions, logs, error pages, API bodies."""
