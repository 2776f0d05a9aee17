"""Entry points of the order service: the REST API, the command line, the server process."""
