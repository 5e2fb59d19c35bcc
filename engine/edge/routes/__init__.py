"""The HTTP API by resource: each module's ``register(app, edge)`` adds its routes. Thin: validate,
call an actor or a query, reply; ids that do not exist and ids the caller may not see are both 404."""
