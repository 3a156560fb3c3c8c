"""How omnidrop is served: what the ASGI servers it runs on add beyond plain ASGI."""
