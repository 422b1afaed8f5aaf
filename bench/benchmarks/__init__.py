"""The benchmark modules; every module here is imported by :func:`bench.registry.load_all`.

To add a benchmark, add a module with functions decorated by
:func:`bench.registry.benchmark`.  A benchmark whose feature the loop lacks should
let the ``NotImplementedError`` propagate: the suite reports it as ``n/a``.
"""
