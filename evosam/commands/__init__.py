"""Sub-commands of the ``evosam`` CLI; each module has ``register(subparsers)``."""
