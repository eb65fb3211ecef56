"""Domain logic shared by the HTTP API and the admin CLI; each function is one unit of work."""
