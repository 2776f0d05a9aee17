"""The base of every error by which a rule of the order domain refuses something."""


class DomainError(Exception):
    """``code`` names the rule for API clients; the message is for people."""

    code = "domain_error"
