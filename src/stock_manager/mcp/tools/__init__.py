"""The tools, split by role: :mod:`.read` (always), :mod:`.orders` and :mod:`.apply` (only
with ``--allow-orders``). Each module has one ``register(registry)`` function."""
