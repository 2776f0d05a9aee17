"""The order service's HTTP API: one blueprint-like module per resource, each route a few lines that
turn a request into a call of the service layer and shape the answer (see ``app.create_app``).

- ``dependencies``: what the routes use (the composition root's objects) and who is calling;
- ``errors``: the one error shape, and the handlers that map domain errors to HTTP statuses;
- ``idempotency``: the ``Idempotency-Key`` replay for POSTs;
- ``serializers``: orders, invoices, audit entries and notifications as JSON;
- the resources: ``service`` (health, OpenAPI), ``auth``, ``orders``, ``invoices``, ``audit``,
  ``notifications``, ``settlements``, ``imports``, ``carriers``, ``handoffs``, ``chat``, ``users``, ``stats``.
"""
