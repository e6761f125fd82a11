"""See ``cryptography.__doc__``: the subset SecretStorage needs."""
