"""Code generation: AST -> readable source -> compiled, cached function.

Output guarantees: each module states those of its stage; together they
turn an ``adjoint``/``freed`` program into source (``text``), a compiled
function (``code``) and a cache entry.
"""
