"""Front end: user function -> AST with resolved names -> normal form."""
