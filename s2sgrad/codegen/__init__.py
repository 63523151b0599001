"""Code generation: AST -> readable source -> compiled, cached function."""
