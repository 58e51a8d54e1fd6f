"""Testing helpers for code that uses contracts: hypothesis strategies and a pytest plugin.

``contracts.testing.strategies`` needs ``hypothesis``; ``contracts.testing.pytest_plugin`` is
registered with pytest through the ``pytest11`` entry point and does nothing unless a project
opts in (see its docstring).
"""
